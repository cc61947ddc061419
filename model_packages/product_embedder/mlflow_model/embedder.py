"""The product embedder as an MLflow "models from code" pyfunc: a fixed random projection.

A stand-in for the real image encoder (no deep-learning framework is installed here), honest
about what it is: it maps feature vectors to unit-length 16-dimensional embeddings with a
projection matrix stored as the model's artifact. The computation lives in ``embedding.py``
(saved as the model's code path), so serving runtimes without MLflow run it too.
"""

import mlflow
from embedding import Embedder  # the model's code path, put on sys.path by MLflow when loading


class ProductEmbedder(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.embedder = Embedder(context.artifacts)

    def predict(self, context, model_input, params=None):
        return self.embedder.predict(model_input)


mlflow.models.set_model(ProductEmbedder())
