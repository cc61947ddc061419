"""SageMaker scikit-learn container handler for an MLflow sklearn model (code/inference.py).

The container has no MLflow, so the model is read as MLflow stored it: a pickle named in the
MLmodel file (``model.pkl``; the example models are saved with serialization_format="pickle").
"""

import json
import os
import pickle

import numpy as np


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as handle:
        return pickle.load(handle)


def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError(f"unsupported content type {content_type}; send application/json")
    return np.asarray(json.loads(body), dtype=float)


def predict_fn(data, model):
    return model.predict(data)


def output_fn(prediction, accept):
    return json.dumps(np.asarray(prediction).tolist()), "application/json"
