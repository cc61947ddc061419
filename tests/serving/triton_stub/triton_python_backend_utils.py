"""A stand-in for Triton's ``triton_python_backend_utils``: the API surface model.py uses.

Follows triton-inference-server/python_backend (``src/resources/triton_python_backend_utils.py``
and the pybind classes of ``src/pb_stub.cc``): ``Tensor(name, ndarray)`` with ``name()`` and
``as_numpy()``; ``InferenceRequest.inputs()``; ``InferenceResponse(output_tensors, error=None)``
with ``output_tensors()``, ``has_error()`` and ``error()``; ``TritonError(message)``;
``get_input_tensor_by_name`` returns None for an unknown name, as the real one does. Like the
image's, it needs numpy and the standard library only.
"""

import numpy as np


class TritonModelException(Exception):
    """Raised by the backend's API on misuse (the real one comes from the C++ stub)."""


class TritonError:
    def __init__(self, message):
        self._message = str(message)

    def message(self):
        return self._message


class Tensor:
    def __init__(self, name, array):
        if not isinstance(name, str):
            raise TritonModelException(f"tensor name must be a string, not {type(name).__name__}")
        if not isinstance(array, np.ndarray):
            # The real constructor accepts numpy arrays only (DLPack has its own from_dlpack).
            raise TritonModelException(f"tensor {name}: expected a numpy array")
        if array.dtype == np.object_ or array.dtype.kind not in "biufSUO":
            raise TritonModelException(f"tensor {name}: unsupported dtype {array.dtype}")
        self._name, self._array = name, array

    def name(self):
        return self._name

    def as_numpy(self):
        return self._array


class InferenceRequest:
    def __init__(self, inputs, requested_output_names=()):
        self._inputs = list(inputs)
        self._requested = list(requested_output_names)

    def inputs(self):
        return self._inputs

    def requested_output_names(self):
        return self._requested


class InferenceResponse:
    def __init__(self, output_tensors, error=None):
        if error is not None and not isinstance(error, TritonError):
            raise TritonModelException("error must be a TritonError")
        if any(not isinstance(t, Tensor) for t in output_tensors):
            raise TritonModelException("output_tensors must be Tensors")
        self._outputs, self._error = list(output_tensors), error

    def output_tensors(self):
        return self._outputs

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error


def get_input_tensor_by_name(inference_request, name):
    for tensor in inference_request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(inference_response, name):
    for tensor in inference_response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None
