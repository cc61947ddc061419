"""Triton Python-backend model wrapping an MLflow pyfunc model (archived as <model>/1/model.py).

Runs inside the Triton container; it needs MLflow and the model's requirements in the Python
backend's execution environment.
"""

import os

import numpy as np
import triton_python_backend_utils as pb_utils  # provided by Triton's Python backend


class TritonPythonModel:
    def initialize(self, args):
        import mlflow.pyfunc

        here = os.path.join(args["model_repository"], args["model_version"], "mlflow_model")
        self.model = mlflow.pyfunc.load_model(here)

    def execute(self, requests):
        responses = []
        for request in requests:
            inputs = pb_utils.get_input_tensor_by_name(request, "INPUT__0").as_numpy()
            outputs = np.asarray(self.model.predict(inputs), dtype=np.float32)
            tensor = pb_utils.Tensor("OUTPUT__0", outputs)
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
