"""Scale benchmark: the offline preview of an environment with N synthetic models, against a floor.

    python benchmarks/preview_scale.py --models 1000 --repeat 3 --json

prints ``{"models", "resources", "seconds", "floor_seconds", "peak_rss_mb"}`` plus ``ratio``
(seconds / floor_seconds), the same three in process CPU time (``cpu_seconds``,
``floor_cpu_seconds``, ``cpu_ratio``: other processes on a busy machine do not inflate them) and
``resources_per_model`` (the most resources one model owns, by serving target).

``seconds`` is the wall time of the whole offline preview: declaration validation, placement,
packaging, the program on the capturing mock monitor. ``floor_seconds`` is measured in the same
process, right after: the captured resources (types, names, inputs, parents, explicit providers
and component outputs) registered again as plain ``CustomResource``/``ComponentResource`` objects
on a fresh monitor of the same kind, with nothing else running, and checked to give the same URNs.
No program can register the same graph faster than that.

The N models are a fixed mix cycled from the shipped model packages (per 10 models: 4 sklearn and
2 XGBoost on CPU multi-model endpoints, 1 PyTorch on a GPU multi-model endpoint, 3 scikit-learn
on EKS) with varied memory, so placement splits endpoints by capacity as a real fleet would.
They replace the dev stack's models in this process only (teams and config stay dev's).

Run one N per process: ``peak_rss_mb`` is the process's peak resident set. With ``--repeat R``
every timing is the best of R interleaved runs, the figure other load disturbs least.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STACK = "dev"
# (template package, changes): one cycle of ten models.
MIX: tuple[tuple[str, dict[str, Any]], ...] = (
    ("chargeback_risk", {}),
    ("churn_predictor", {}),
    ("fraud_scorer", {"framework": "xgboost", "framework_version": "1.7-1"}),
    ("product_embedder", {}),
    ("recs_ranker", {}),
    ("chargeback_risk", {}),
    ("churn_predictor", {"framework": "xgboost", "framework_version": "1.7-1"}),
    ("recs_ranker", {"accepts_spot": False}),
    ("fraud_scorer", {}),
    ("recs_ranker", {}),
)
MEMORY_FACTORS = (1.0, 1.5, 0.5, 2.0, 0.75)


def synthetic_models(count: int) -> list[dict[str, Any]]:
    """``count`` valid model declarations (as data), deterministic for a given count."""
    import importlib

    from infra.declarations.model import deep_merge

    models = []
    for index in range(count):
        package, changes = MIX[index % len(MIX)]
        template = importlib.import_module(f"model_packages.{package}").model
        data = deep_merge(template.model_dump(mode="python"), changes)
        name = f"{template.name[:20]}-{index:05d}"
        memory = int(data["resources"]["memory_mb"] * MEMORY_FACTORS[index % len(MEMORY_FACTORS)])
        data |= {"name": name, "version": 1}  # the template's artifact, packaged under this name
        # Serving only: the lifecycle is opt-in per model, its resources counted on their own
        # (README, "Model lifecycle": 3 per monitored, drift-retrained model).
        data |= {"monitoring": None, "retraining": None}
        # Batch jobs are opt-in per model (2-4 resources each, README "On EMR on EKS"): the
        # benchmark measures serving, so the copies of a template with a job have none.
        data["batch"] = ()
        data["resources"] = {**data["resources"], "memory_mb": max(memory, 128)}
        models.append(data)
    return models


def install_synthetic_stack(count: int) -> None:
    """Make ``stacks.dev`` (as the loader imports it) serve ``count`` synthetic models."""
    import stacks.dev as shipped

    module = types.ModuleType(f"stacks.{STACK}", f"dev teams with {count} synthetic models")
    module.teams = list(shipped.teams)
    module.models = synthetic_models(count)
    sys.modules[f"stacks.{STACK}"] = module


def preview(count: int):
    from infra.loader import read_stack_config
    from mlplat.offline.engine import capture_stack

    install_synthetic_stack(count)
    return capture_stack(STACK, read_stack_config(STACK))


def _plain(value: Any) -> Any:
    """Export values back to plain inputs (secrets as their plaintext)."""
    from mlplat.offline.monitor import SECRET_SIG, SIG_KEY

    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _plain(value.get("plaintext"))
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _typed_resource(registration, name: str, inputs: dict[str, Any], opts):
    """The resource through its provider SDK's generated class, with the captured inputs."""
    import inspect

    from pydantic.alias_generators import to_snake

    from infra.tagging import _resource_class

    resource_class = _resource_class(registration.type)
    if resource_class is None:
        return None
    accepted = inspect.signature(resource_class._internal_init).parameters
    kwargs = {to_snake(key): value for key, value in inputs.items()}
    return resource_class(name, opts=opts, **{k: v for k, v in kwargs.items() if k in accepted})


def replay(capture, *, typed: bool = False, untyped: frozenset[str] = frozenset()) -> None:
    """Register the captured graph again, as plain resources, on a fresh capturing monitor.

    ``typed``: custom resources go through their generated classes instead (a supplementary
    floor: the SDK's cost for the same graph written with the provider classes), except those of
    the ``untyped`` types (what writing just those as plain resources would save).
    """
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.project import PROJECT_NAME
    from infra.tagging import STACK_TYPE
    from mlplat.offline.export import topological
    from mlplat.offline.mocks import AwsLikeMocks
    from mlplat.offline.monitor import CapturingMonitor

    settings = capture.spec.settings
    mocks = AwsLikeMocks(region=settings.region, account=settings.account_id)
    monitor = CapturingMonitor(mocks, stack=capture.stack, project=PROJECT_NAME)
    # The stack and default providers are registered by the SDK and the monitor themselves.
    ordered = [
        r
        for r in topological(capture.registrations)
        if r.type != STACK_TYPE and not _is_default_provider(r.urn)
    ]

    def program() -> None:
        created: dict[str, pulumi.Resource] = {}
        for registration in ordered:
            name = registration.urn.rsplit("::", 1)[-1]
            provider_urn = registration.provider.rsplit("::", 1)[0]
            opts = pulumi.ResourceOptions(
                parent=created.get(registration.parent),
                provider=created.get(provider_urn),
                version=_provider_version(registration),
            )
            inputs = _plain(registration.inputs)
            if registration.type.startswith("pulumi:providers:"):
                package = registration.type.removeprefix("pulumi:providers:")
                created[registration.urn] = pulumi.ProviderResource(package, name, inputs, opts)
            elif registration.custom:
                created[registration.urn] = (
                    typed
                    and registration.type not in untyped
                    and _typed_resource(registration, name, inputs, opts)
                ) or pulumi.CustomResource(registration.type, name, inputs, opts)
            else:
                component = pulumi.ComponentResource(
                    registration.type, name, inputs, opts, remote=registration.remote
                )
                if registration.outputs and not registration.remote:
                    component.register_outputs(_plain(registration.outputs))
                created[registration.urn] = component

    runtime_settings.set_root_resource(None)
    set_mocks(mocks, project=PROJECT_NAME, stack=capture.stack, preview=False, monitor=monitor)
    _sync_await(run_pulumi_func(program))
    differ = set(monitor.registrations) ^ {r.urn for r in capture.registrations}
    if differ:
        raise RuntimeError(f"the floor did not register the same graph: {sorted(differ)[:5]}")


def _is_default_provider(urn: str) -> bool:
    return "::pulumi:providers:" in urn and urn.rsplit("::", 1)[-1].startswith("default")


def _provider_version(registration) -> str | None:
    # Default provider references end in "default_<major>_<minor>_<patch>::<id>".
    name = registration.provider.rsplit("::", 2)[-2] if registration.provider else ""
    return name.removeprefix("default_").replace("_", ".") if name.startswith("default_") else None


def resources_per_model(capture, models: list[dict[str, Any]]) -> dict[str, int]:
    """The most resources any one model owns, by serving target (resources named after it)."""
    names = [r.urn.rsplit("::", 1)[-1] for r in capture.registrations]
    most: dict[str, int] = {}
    for model in models:
        owned = re.compile(rf"(^|-){re.escape(model['name'])}(-|$)")
        count = sum(1 for name in names if owned.search(name))
        most[model["serving"]] = max(most.get(model["serving"], 0), count)
    return dict(sorted(most.items()))


def _timed(run):
    """(result, wall seconds, CPU seconds of the process: all threads, none of other processes)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure(
    count: int, repeat: int = 1, typed_floor: bool = False, untyped: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Best of ``repeat`` interleaved runs of each: the minimum is the least disturbed by load."""
    preview(1)  # warm-up: imports and SDK start-up are not part of either measurement
    best = {"seconds": [], "cpu": [], "floor": [], "floor_cpu": [], "typed": [], "mixed": []}
    for _ in range(repeat):
        capture, wall, cpu = _timed(lambda: preview(count))
        best["seconds"].append(wall)
        best["cpu"].append(cpu)
        _, floor_wall, floor_cpu = _timed(lambda capture=capture: replay(capture))
        best["floor"].append(floor_wall)
        best["floor_cpu"].append(floor_cpu)
        if typed_floor:
            _, typed_wall, _ = _timed(lambda capture=capture: replay(capture, typed=True))
            best["typed"].append(typed_wall)
        if untyped:
            _, mixed_wall, _ = _timed(
                lambda capture=capture: replay(capture, typed=True, untyped=untyped)
            )
            best["mixed"].append(mixed_wall)
    seconds, cpu, floor, floor_cpu = (
        min(best[key]) for key in ("seconds", "cpu", "floor", "floor_cpu")
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return (
        {
            "models": count,
            "resources": len(capture.registrations),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor, 3),
            "ratio": round(seconds / floor, 3),
            "cpu_seconds": round(cpu, 3),
            "floor_cpu_seconds": round(floor_cpu, 3),
            "cpu_ratio": round(cpu / floor_cpu, 3),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "resources_per_model": resources_per_model(capture, synthetic_models(count)),
        }
        | (
            {
                "typed_floor_seconds": round(min(best["typed"]), 3),
                "typed_ratio": round(seconds / min(best["typed"]), 3),
            }
            if typed_floor
            else {}
        )
        | (
            {
                "untyped": sorted(untyped),
                "mixed_floor_seconds": round(min(best["mixed"]), 3),
                "mixed_over_floor": round(min(best["mixed"]) / floor, 3),
            }
            if untyped
            else {}
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, required=True, help="Number of synthetic models.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs of each; the best is kept.")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    parser.add_argument(
        "--typed-floor",
        action="store_true",
        help="Also replay through the provider SDKs' generated classes (typed_floor_seconds).",
    )
    parser.add_argument(
        "--untyped",
        action="append",
        default=[],
        metavar="TYPE",
        help="Also replay typed but with these types as plain resources (mixed_floor_seconds); "
        "repeat or comma-separate.",
    )
    args = parser.parse_args(argv)
    if args.models < 1 or args.repeat < 1:
        parser.error("--models and --repeat must be at least 1")
    untyped = frozenset(t.strip() for value in args.untyped for t in value.split(",") if t.strip())
    result = measure(args.models, args.repeat, args.typed_floor, untyped)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
