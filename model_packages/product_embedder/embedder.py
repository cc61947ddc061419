"""The product embedder as an MLflow "models from code" pyfunc: a fixed random projection.

A stand-in for the real image encoder (no deep-learning framework is installed here), honest
about what it is: it maps feature vectors to unit-length 16-dimensional embeddings with a
projection matrix stored as the model's artifact.
"""

import mlflow
import numpy as np


class ProductEmbedder(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.projection = np.load(context.artifacts["projection"])

    def predict(self, context, model_input, params=None):
        vectors = np.asarray(model_input, dtype=np.float32) @ self.projection
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


mlflow.models.set_model(ProductEmbedder())
