"""The product embedder's computation, in plain numpy: what every serving runtime runs.

It imports only numpy and the standard library, so the Triton image's Python backend (which has
numpy but no MLflow) runs it as is; ``embedder.py`` wraps it for MLflow. The entry point contract
(``model_packages/runtimes.py``): constructed with the artifacts' local paths, ``predict`` maps
a float32 batch to a float32 batch.
"""

import numpy as np


class Embedder:
    def __init__(self, artifacts):
        self.projection = np.load(artifacts["projection"])

    def predict(self, inputs):
        vectors = np.asarray(inputs, dtype=np.float32) @ self.projection
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)
