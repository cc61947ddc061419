"""Triton Python-backend model running an MLflow model's entry point (<model>/1/model.py).

The Triton image has no MLflow, so this loads no MLflow: it imports only the standard library,
numpy and the backend's ``triton_python_backend_utils``, then the model's own code, named in
``entry.json`` (written by packaging from the MLflow model's ``mlplat_entry_point`` metadata):
a class built from the artifacts' paths whose ``predict`` maps a float32 batch to a float32 batch.
"""

import importlib
import json
import os
import sys

import numpy as np
import triton_python_backend_utils as pb_utils  # provided by Triton's Python backend

ENTRY_FILE = "entry.json"


class TritonPythonModel:
    def initialize(self, args):
        # args["model_repository"] is this model's directory in the repository (<repo>/<model>).
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        with open(os.path.join(version_dir, ENTRY_FILE)) as handle:
            entry = json.load(handle)
        sys.path.insert(0, os.path.join(version_dir, entry["code_dir"]))
        module, _, name = entry["entry_point"].partition(":")
        artifacts = {
            key: os.path.join(version_dir, path) for key, path in entry["artifacts"].items()
        }
        self.model = getattr(importlib.import_module(module), name)(artifacts)
        config = json.loads(args["model_config"])
        self.input_name = config["input"][0]["name"]
        self.output_name = config["output"][0]["name"]

    def execute(self, requests):
        return [self._answer(request) for request in requests]

    def _answer(self, request):
        try:
            inputs = pb_utils.get_input_tensor_by_name(request, self.input_name).as_numpy()
            outputs = np.asarray(self.model.predict(inputs), dtype=np.float32)
        except Exception as error:  # a bad request fails alone, not the batch it came with
            return pb_utils.InferenceResponse(
                output_tensors=[], error=pb_utils.TritonError(f"{type(error).__name__}: {error}")
            )
        return pb_utils.InferenceResponse(
            output_tensors=[pb_utils.Tensor(self.output_name, outputs)]
        )
