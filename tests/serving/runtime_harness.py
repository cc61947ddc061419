"""Runs a model archive the way its serving container would, in a process of its own.

    python runtime_harness.py SPEC_JSON

SPEC: {"runtime": "triton" | "sklearn", "root": unpacked archive, "allowed": [top-level modules
the image provides, its stdlib included], "paths": [directories the image adds to sys.path],
"rows": [[...], ...]; for Triton "model" and "model_config" (Triton's JSON of config.pbtxt), for
scikit-learn "program" (SAGEMAKER_PROGRAM)}.
Before anything of the archive runs, every import of a module outside "allowed" (and the
archive's own directories) fails, cached or not, as it would in an image that lacks it. Prints
{"outputs": [[...]], "error": null | "..."} as JSON.
"""

import builtins
import importlib.abc
import json
import os
import sys
import traceback

sys.path.pop(0)  # the tests' folder is not on the image's path


def _block_imports_outside(allowed, root):
    """Imports fail unless the image provides the module or the archive (a sys.path directory
    inside ``root``) carries it."""
    real_import = builtins.__import__

    def available(top):
        # _sysconfigdata_<abi>: the interpreter's own build data, stdlib but not in
        # sys.stdlib_module_names.
        if top in allowed or top.startswith("_sysconfigdata_"):
            return True
        archive_dirs = [p for p in sys.path if os.path.abspath(p).startswith(root + os.sep)]
        return any(
            os.path.exists(os.path.join(d, top + ".py")) or os.path.isdir(os.path.join(d, top))
            for d in archive_dirs
        )

    def top_level(name, globals_, level):
        if level:
            package = (globals_ or {}).get("__package__") or ""
            return package.split(".")[0]
        return name.split(".")[0]

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        top = top_level(name, globals, level)
        if top and not available(top):
            raise ModuleNotFoundError(f"No module named '{top}' (not in the image)", name=top)
        return real_import(name, globals, locals, fromlist, level)

    class Blocker(importlib.abc.MetaPathFinder):  # importlib.import_module skips __import__
        def find_spec(self, fullname, path=None, target=None):
            top = fullname.split(".")[0]
            if not available(top):
                raise ModuleNotFoundError(f"No module named '{top}' (not in the image)", name=top)
            return None

    builtins.__import__ = guarded_import
    sys.meta_path.insert(0, Blocker())


def _triton(spec):
    # The stub puts <model>/1 and <model> on sys.path, then imports model.py (pb_stub.cc).
    model_dir = os.path.join(spec["root"], spec["model"])
    sys.path += [os.path.join(model_dir, "1"), model_dir]
    import numpy as np
    import triton_python_backend_utils as pb_utils

    model_py = importlib.import_module("model")
    model = model_py.TritonPythonModel()
    config = spec["model_config"]
    model.initialize(
        {
            "model_config": json.dumps(config),
            "model_instance_kind": config["instance_group"][0]["kind"],
            "model_instance_device_id": "0",
            "model_repository": model_dir,
            "model_version": "1",
            "model_name": spec["model"],
        }
    )
    dtype = {"TYPE_FP32": np.float32, "TYPE_FP64": np.float64}[config["input"][0]["data_type"]]
    tensor = pb_utils.Tensor(config["input"][0]["name"], np.asarray(spec["rows"], dtype=dtype))
    (response,) = model.execute([pb_utils.InferenceRequest(inputs=[tensor])])
    if response.has_error():
        return None, response.error().message()
    output = pb_utils.get_output_tensor_by_name(response, config["output"][0]["name"])
    if output is None:
        return None, f"no output tensor {config['output'][0]['name']}"
    # Clients decode the answer by the datatype the configuration (and model metadata) declares.
    declared = {"TYPE_FP32": np.float32, "TYPE_FP64": np.float64}[config["output"][0]["data_type"]]
    if output.as_numpy().dtype != declared:
        return None, f"output is {output.as_numpy().dtype}, the configuration declares {declared}"
    return output.as_numpy().tolist(), None


def _sklearn(spec):
    # sagemaker_containers: SAGEMAKER_PROGRAM's module from the code directory (gunicorn's
    # --pythonpath), then model_fn(model_dir) once and input_fn/predict_fn/output_fn per request;
    # a JSON request's content reaches input_fn as text.
    sys.path.append(os.path.join(spec["root"], "code"))
    handler = importlib.import_module(spec["program"].removesuffix(".py"))
    model = handler.model_fn(spec["root"])
    data = handler.input_fn(json.dumps(spec["rows"]), "application/json")
    body, content_type = handler.output_fn(handler.predict_fn(data, model), "application/json")
    if content_type != "application/json":
        return None, f"answered {content_type}"
    return json.loads(body), None


def main():
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    sys.path += spec["paths"]
    _block_imports_outside(frozenset(spec["allowed"]), os.path.abspath(spec["root"]))
    run = {"triton": _triton, "sklearn": _sklearn}[spec["runtime"]]
    try:
        outputs, error = run(spec)
    except ImportError as missing:
        traceback.print_exc()  # to stderr: where the import was, for the test's message
        outputs, error = None, f"ImportError: {missing}"
    print(json.dumps({"outputs": outputs, "error": error}))


if __name__ == "__main__":
    main()
