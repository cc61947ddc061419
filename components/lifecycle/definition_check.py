"""Checks a SageMaker Pipeline definition the way the service would take it, offline.

Chosen over the alternatives by measurement (README, "The model lifecycle"): the SageMaker SDK
that builds definitions (``sagemaker-mlops`` 1.27, on the ``sagemaker-core`` 2 the project already
has) brought 77 packages (MLflow, pandas, pyarrow, matplotlib, FastAPI among them) and fails to
import without an AWS region (it creates a boto3 client at import); the public JSON schema of
definitions cannot be shipped with this repository. botocore, already installed, carries the
SageMaker API's own request shapes, and a step's ``Arguments`` *are* that request without the job
name: so each step is validated against CreateTrainingJob / CreateProcessingJob /
CreateModelPackage with botocore's parameter validator (types, required and unknown members,
lengths and ranges), and the envelope and every reference (``Get`` of parameters, steps,
execution variables, property files; ``DependsOn``) is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from components.lifecycle.definitions import DEFINITION_VERSION

# Step type -> (operation, the name member Pipelines fills in).
STEP_OPERATIONS = {
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "RegisterModel": ("CreateModelPackage", None),
}
STEP_TYPES = frozenset(STEP_OPERATIONS) | {"Condition", "Fail"}
PARAMETER_TYPES = {"String": str, "Integer": int, "Float": float, "Boolean": bool}
# What a parameter of each type may stand for, in botocore's shape types.
SHAPE_TYPES = {
    "String": {"string"},
    "Integer": {"integer", "long", "float", "double"},
    "Float": {"float", "double"},
    "Boolean": {"boolean"},
}
EXECUTION_VARIABLES = frozenset(
    {
        "ExecutionId",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "PipelineName",
        "PipelineArn",
        "StartDateTime",
        "CurrentDateTime",
    }
)
CONDITION_TYPES = frozenset(
    {
        "Equals",
        "GreaterThan",
        "GreaterThanOrEqualTo",
        "LessThan",
        "LessThanOrEqualTo",
        "In",
        "Not",
        "Or",
    }
)
STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")


@cache
def _sagemaker_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def definition_problems(definition: dict) -> list[str]:
    """Every reason the definition would be refused; empty when it is valid."""
    problems: list[str] = []
    if definition.get("Version") != DEFINITION_VERSION:
        problems.append(f"Version: {definition.get('Version')!r}, not {DEFINITION_VERSION!r}")
    unknown = set(definition) - {
        "Version",
        "Metadata",
        "Parameters",
        "PipelineExperimentConfig",
        "Steps",
    }
    problems += [f"{key}: not a definition member" for key in sorted(unknown)]
    parameters = {}
    for index, parameter in enumerate(definition.get("Parameters", [])):
        name, kind = parameter.get("Name"), parameter.get("Type")
        if kind not in PARAMETER_TYPES:
            problems.append(
                f"Parameters[{index}].Type: {kind!r} is not one of {sorted(PARAMETER_TYPES)}"
            )
            continue
        default = parameter.get("DefaultValue")
        expected = PARAMETER_TYPES[kind]
        if default is not None and not (
            isinstance(default, expected)
            and not (expected is not bool and isinstance(default, bool))
            or (expected is float and isinstance(default, int) and not isinstance(default, bool))
        ):
            problems.append(f"Parameters.{name}: default {default!r} is not a {kind}")
        if name in parameters:
            problems.append(f"Parameters.{name}: declared twice")
        parameters[name] = kind
    steps = list(_all_steps(definition.get("Steps") or []))
    if not steps:
        problems.append("Steps: a pipeline needs at least one step")
    names = [step.get("Name") for step in steps]
    for name in names:
        if not isinstance(name, str) or not STEP_NAME.match(name):
            problems.append(f"Steps: step name {name!r} is not [A-Za-z0-9-_]{{1,64}}")
        elif names.count(name) > 1:
            problems.append(f"Steps.{name}: name used twice")
    property_files = {
        (step["Name"], pf.get("PropertyFileName"))
        for step in steps
        for pf in step.get("PropertyFiles", [])
    }
    for step in steps:
        problems += [
            f"Steps.{step.get('Name')}: {p}"
            for p in _step_problems(step, set(names), parameters, property_files)
        ]
    return problems


def _all_steps(steps: list[dict]) -> Iterator[dict]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from _all_steps(arguments.get("IfSteps", []))
            yield from _all_steps(arguments.get("ElseSteps", []))


def _step_problems(step: dict, names: set, parameters: dict, property_files: set) -> Iterator[str]:
    kind = step.get("Type")
    if kind not in STEP_TYPES:
        yield f"Type {kind!r} is not one this checker knows ({sorted(STEP_TYPES)})"
        return
    for dependency in step.get("DependsOn", []):
        if dependency not in names:
            yield f"DependsOn {dependency!r}: no such step"
    arguments = step.get("Arguments", {})
    yield from _reference_problems(arguments, names, parameters, property_files)
    for pf in step.get("PropertyFiles", []):
        outputs = {
            output.get("OutputName")
            for output in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        if pf.get("OutputName") not in outputs:
            yield f"PropertyFiles.{pf.get('PropertyFileName')}: no output {pf.get('OutputName')!r}"
    if kind in STEP_OPERATIONS:
        operation, name_member = STEP_OPERATIONS[kind]
        shape = _sagemaker_model().operation_model(operation).input_shape
        request, type_problems = _concrete(arguments, shape, parameters, "Arguments")
        yield from type_problems
        if name_member:
            if name_member in arguments:
                yield f"Arguments.{name_member}: Pipelines names the job; leave it out"
            request[name_member] = "pipeline-step"
        yield from _botocore_problems(shape, request, operation)
    elif kind == "Condition":
        for condition in arguments.get("Conditions", []):
            if condition.get("Type") not in CONDITION_TYPES:
                yield f"condition type {condition.get('Type')!r} is unknown"
        if not arguments.get("IfSteps") and not arguments.get("ElseSteps"):
            yield "a condition with neither IfSteps nor ElseSteps does nothing"
    elif kind == "Fail" and "ErrorMessage" not in arguments:
        yield "a Fail step needs an ErrorMessage"


def _reference_problems(value, names: set, parameters: dict, property_files: set) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            reference = value["Get"]
            head, _, rest = reference.partition(".")
            if head == "Parameters" and rest not in parameters:
                yield f"{reference}: no such parameter"
            elif head == "Execution" and rest not in EXECUTION_VARIABLES:
                yield f"{reference}: not an execution variable"
            elif head == "Steps":
                step, _, prop = rest.partition(".")
                if step not in names:
                    yield f"{reference}: no such step"
                elif (
                    prop.startswith("PropertyFiles.")
                    and (step, prop.removeprefix("PropertyFiles.")) not in property_files
                ):
                    yield f"{reference}: no such property file"
            elif head not in ("Parameters", "Execution", "Steps"):
                yield f"{reference}: neither a parameter, a step nor an execution variable"
            return
        for item in value.values():
            yield from _reference_problems(item, names, parameters, property_files)
    elif isinstance(value, list):
        for item in value:
            yield from _reference_problems(item, names, parameters, property_files)


def _concrete(value, shape, parameters: dict, path: str):
    """``value`` with every function replaced by a placeholder of the shape's type, and the
    problems of parameters used where their type cannot go."""
    problems: list[str] = []
    if isinstance(value, dict) and (
        set(value) == {"Get"} or any(k.startswith("Std:") for k in value)
    ):
        reference = value.get("Get", "")
        if shape is not None and reference.startswith("Parameters."):
            kind = parameters.get(reference.removeprefix("Parameters."))
            if kind and shape.type_name not in SHAPE_TYPES[kind]:
                problems.append(
                    f"{path}: a {kind} parameter where the API takes a {shape.type_name}"
                )
        return _placeholder(shape), problems
    if shape is None:
        return value, problems
    if shape.type_name == "structure" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            member = shape.members.get(key)
            out[key], more = _concrete(item, member, parameters, f"{path}.{key}")
            problems += more
        return out, problems
    if shape.type_name == "list" and isinstance(value, list):
        out = []
        for index, item in enumerate(value):
            concrete, more = _concrete(item, shape.member, parameters, f"{path}[{index}]")
            out.append(concrete)
            problems += more
        return out, problems
    if shape.type_name == "map" and isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key], more = _concrete(item, shape.value, parameters, f"{path}.{key}")
            problems += more
        return out, problems
    return value, problems


def _placeholder(shape):
    if shape is None:
        return "placeholder"
    minimum = shape.metadata.get("min", 1)
    return {
        "string": "s" * max(1, int(minimum)),
        "integer": max(1, int(minimum)),
        "long": max(1, int(minimum)),
        "float": 1.0,
        "double": 1.0,
        "boolean": True,
    }.get(shape.type_name, "placeholder")


def _botocore_problems(shape, request: dict, operation: str) -> Iterator[str]:
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        for line in report.generate_report().splitlines():
            yield f"{operation}: {line.strip()}"
