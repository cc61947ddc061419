"""Mutation testing of the core modules with mutmut: how many small deliberate bugs tests catch.

    python3 -m uv run --group mutation python benchmarks/mutation.py [MODULE ...] [--keep]

Each MODULE (default: all, most important first) is mutated alone and run against only the test
files that cover it (``MODULES`` below), in a copy of the work tree, so a run takes minutes, not
hours. A mutant is one small change (a flipped comparison, a constant, a dropped argument); the
tests kill it when one of them fails. Mutants judged equivalent (no input can tell them from the
original) are listed, with the reason, in ``benchmarks/mutation_equivalents.toml``; the score is
killed / (mutants - equivalent). Results go to ``benchmarks/mutation_results.json`` and are
summarised in ``benchmarks/MUTATION.md``. ``--keep`` keeps the copy, where ``mutmut show NAME`` and
``mutmut browse`` explain each mutant; ``--again DIR MODULE`` re-runs there only the mutants that
survived or timed out, against the tests written since.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "mutation_results.json"
EQUIVALENTS = ROOT / "benchmarks" / "mutation_equivalents.toml"
NO_ENGINE = "MLPLAT_TESTS_WITHOUT_ENGINE"  # read by tests/conftest.py
# Every top-level package: mutmut copies these into its tree and mutates only `only_mutate` there;
# a package missing here is never mutated (a module moved into it scores "no mutants").
PACKAGES = [
    "mlplat",
    "components",
    "cost_model",
    "infra",
    "lifecycle",
    "policies",
    "model_packages",
    "stacks",
    "benchmarks",  # the placement tests draw fleets from its generator
]
# mutmut's exit codes per mutant (mutmut.stats.status_by_exit_code), as this report names them.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout"}
STATUS |= {24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", 37: "killed"}


@dataclass(frozen=True)
class Module:
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    # Tests that cannot pass in mutmut's copy of the tree (with the reason, in MUTATION.md).
    deselect: tuple[str, ...] = ()
    # Tests that reach the offline engine are skipped at the point it would start (see
    # tests/conftest.py): its gRPC threads are not fork-safe, and mutmut's workers forked from the
    # process that ran it hung until timed out. What they check before (the stack's validation)
    # still runs. Off for the modules measured before this existed, to keep their figures.
    without_engine: bool = False
    # mutmut leaves decorated functions alone (it cannot copy them safely in general): the
    # functions decorated by these names are rewritten in the copy as `def f` then
    # `f = decorator(...)(f)`, the same objects, so that their bodies are mutated too.
    undecorate: tuple[str, ...] = ()
    # mutmut stops a mutant after (its tests' time + 1 s) x this, in wall time (its default is
    # 15). Lower where mutants loop forever: a timeout counts against the score either way, so
    # a tighter limit never raises it, it only stops paying minutes for each such mutant.
    timeout_multiplier: float | None = None


# The tests of the declarations and the loader, for each part of that module below.
DECLARATION_TESTS = (
    "tests/foundation/test_mistakes.py",
    "tests/foundation/test_loader_messages.py",
    "tests/foundation/test_scheduling.py",
    "tests/foundation/test_models_cli.py",
    "tests/foundation/test_validation.py",
    "tests/foundation/test_validation_boundaries.py",
    "tests/foundation/test_declaration_errors.py",
    # not tests/serving/test_endpoint_planning.py: placement's hypothesis tests (30 s)
    # would run for every surviving mutant of a declaration they build
    "tests/serving/test_placement_lock.py",
    "tests/foundation/test_stale_lock.py",
    "tests/foundation/test_emptied_stack.py",
    "tests/foundation/test_settings_messages.py",
    "tests/foundation/test_route_settings.py",
    "tests/foundation/test_instance_choice.py",
)

GATEWAY_TESTS = "tests/lifecycle/test_events_gateway.py"
GATEWAY_END_TO_END = (
    "test_each_prediction_is_published_as_schema_valid_events_and_the_response_is_unchanged",
    "test_a_request_without_a_valid_inference_id_gets_one_minted_and_counted",
    "test_errors_and_other_paths_are_forwarded_and_not_published",
    "test_the_model_server_down_is_a_502_not_a_hang",
    "test_kafka_down_neither_fails_nor_slows_requests_and_drops_are_counted",
    "test_a_request_in_flight_when_the_pod_stops_is_answered_and_its_event_flushed",
    "test_a_model_server_too_slow_is_a_504_and_the_next_request_is_served",
)

MODULES: dict[str, Module] = {
    "placement": Module(
        (
            "components/serving/placement.py",
            "components/serving/packing.py",
            "components/serving/placement_lock.py",
            "components/serving/rebalance.py",
        ),
        (
            "tests/serving/test_placement.py",
            "tests/serving/test_packing.py",
            "tests/foundation/test_models_cli.py",
            "tests/serving/test_endpoint_planning.py",
            "tests/serving/test_placement_lock.py",
            "tests/serving/test_rebalance.py",
            "tests/serving/test_placement_edges.py",
        ),
        # packing's improvement loops (`while improved`, `while True`) never end under some
        # mutants: 164 s to 8 min each at the default (the tests reaching packing add up to 38 s
        # in mutmut's estimate); its survivors ran in at most 40 s wall on the loaded machine.
        timeout_multiplier=2,
    ),
    # The declarations module is run in parts (all of it at once took over an hour and was stopped
    # unfinished): the model, environment, errors and the loader; the validation rules and
    # scheduling; and the per-model fields later issues added (tags.py is in `tagging`).
    "declarations": Module(
        (
            "infra/declarations/__init__.py",
            "infra/declarations/environment.py",
            "infra/declarations/errors.py",
            "infra/declarations/model.py",
            "infra/loader.py",
        ),
        DECLARATION_TESTS,
        without_engine=True,
    ),
    "declarations_rules": Module(
        ("infra/declarations/rules.py",),
        DECLARATION_TESTS,
        without_engine=True,
    ),
    "declarations_fields": Module(
        (
            "infra/declarations/batch.py",
            "infra/declarations/instance_choice.py",
            "infra/declarations/lifecycle.py",
            "infra/declarations/objectives.py",
            "infra/declarations/streaming.py",
        ),
        (
            *DECLARATION_TESTS,
            "tests/foundation/test_batch_and_streaming_declarations.py",
            "tests/lifecycle/test_lifecycle_declaration.py",
            "tests/lifecycle/test_objectives.py",
            "tests/foundation/test_field_messages.py",
            "tests/lifecycle/test_lifecycle_messages.py",
            "tests/cost/test_pipeline_costs.py",  # runs_per_month, the schedule's cost
        ),
        without_engine=True,
    ),
    # The teams' data prefixes and batch quota checked against their models (issue 18's files,
    # measured apart from the fields above: the declaration tests need none of them).
    "declarations_data": Module(
        (
            "infra/declarations/batch_capacity.py",
            "infra/declarations/data_access.py",
            "infra/declarations/s3.py",
        ),
        (
            "tests/foundation/test_team_data.py",
            "tests/foundation/test_batch_and_streaming_declarations.py",
            "tests/foundation/test_field_messages.py",
        ),
        without_engine=True,
    ),
    "plan_diff": Module(
        ("mlplat/plan_diff.py", "mlplat/replacements.py"),
        (
            "tests/foundation/test_plan_diff.py",
            "tests/foundation/test_plan_diff_maps.py",
            "tests/foundation/test_plan_diff_paths.py",
            "tests/foundation/test_plan_diff_replacements.py",
            "tests/foundation/test_plan_diff_cascade.py",
        ),
        deselect=(
            "tests/foundation/test_plan_diff.py::test_preview_against_a_base_prints_only_the_change",
            # The CLI previews and prod's previews: minutes per mutant; the diff itself is tested.
            "tests/foundation/test_plan_diff_replacements.py::test_preview_json_marks_each_replacement_with_its_cause",
            "tests/foundation/test_plan_diff_replacements.py::test_preview_text_says_replace_and_why",
            "tests/foundation/test_plan_diff_replacements.py::test_removing_a_model_from_a_shared_endpoint_shows_its_configuration_replaced",
        ),
    ),
    "cost_compare": Module(
        ("mlplat/cost/compare.py",),
        (
            "tests/cost/test_cost_compare.py",
            "tests/cost/test_compare_scale.py",
            "tests/cost/test_cost_replacements.py",
        ),
    ),
    "policy_rules": Module(
        ("policies/rules/*.py",),
        (
            "tests/policies/test_rules.py",
            "tests/policies/test_rule_coverage_shapes.py",
            "tests/policies/test_enforcement.py",
            "tests/policies/test_iam_quota_rules.py",
            "tests/policies/test_layer_rules.py",
            "tests/policies/test_deployer_permissions.py",
            "tests/policies/test_rule_messages.py",
            "tests/policies/test_pod_rule_messages.py",
            "tests/policies/test_node_group_messages.py",
            "tests/policies/test_sagemaker_rule_messages.py",
            "tests/policies/test_service_rule_messages.py",
            # the rules of issues 15 to 18 (routes, lifecycle, Prometheus, Kafka and batch)
            "tests/policies/test_route_rules.py",
            "tests/policies/test_lifecycle_rules.py",
            "tests/policies/test_prometheus_policies.py",
            "tests/policies/test_pipeline_rules.py",
            "tests/cost/test_cost_budget_policy.py",
            "tests/data/test_iam_permissions.py",
            "tests/data/test_iam_quotas.py",
        ),
        without_engine=True,
        undecorate=("resource_rule", "stack_rule"),
    ),
    "cost_estimate": Module(
        ("cost_model/estimate.py",),
        (
            "tests/cost/test_cost_estimate.py",
            "tests/cost/test_cost_budgets.py",
            "tests/cost/test_cost_basis.py",
            "tests/cost/test_network_costs.py",  # the network's pricers (endpoints, IPs, ALBs)
            # the pricers issues 17 and 18 added here: AMP and Grafana, batch, Kafka, lifecycle
            "tests/cost/test_prometheus_cost.py",
            "tests/cost/test_pipeline_costs.py",
            "tests/cost/test_event_costs.py",
            "tests/cost/test_lifecycle_costs.py",
            "tests/cost/test_route_auth_costs.py",
            "tests/cost/test_unpriced.py",
            # each pricer's branches, defaults and basis on hand-made graphs (no engine)
            "tests/cost/test_pipeline_pricers.py",
            "tests/cost/test_monitoring_pricers.py",
            "tests/cost/test_serving_pricers.py",
            "tests/cost/test_network_pricers.py",
        ),
        # test_readme_costs.py is left out: it runs the offline engine, whose gRPC threads hang
        # the forked mutant workers (each mutant it reached timed out after a minute); the other
        # tests that preview a stack are skipped where they would start it (without_engine).
        without_engine=True,
    ),
    "iam_documents": Module(
        ("components/iam_documents.py",),
        (
            "tests/data/test_iam_documents.py",
            "tests/data/test_iam_policies.py",
            "tests/data/test_iam_permissions.py",
        ),
    ),
    # The lifecycle, routing and client code of issues 15 and 16.
    "attribution": Module(
        ("lifecycle/attribution.py",),
        (
            "tests/lifecycle/test_attribution.py",
            "tests/lifecycle/test_attribution_contract.py",
            "tests/lifecycle/test_capture_sampling.py",  # kept_by_sampling
            "tests/lifecycle/test_drift_job.py",
            "tests/client/test_client.py",
        ),
    ),
    "drift": Module(
        # Not synthetic.py (it writes the tests' capture files: a mutant there changes the tests'
        # input, not the job) nor __main__.py (it only calls job.main).
        (
            "lifecycle/drift/baseline.py",
            "lifecycle/drift/capture.py",
            "lifecycle/drift/config.py",
            "lifecycle/drift/job.py",
            "lifecycle/drift/publish.py",
            "lifecycle/drift/stats.py",
        ),
        (
            "tests/lifecycle/test_drift_parts.py",
            "tests/lifecycle/test_drift_job.py",
            "tests/lifecycle/test_prediction_events.py",  # parse_record reads the sink's events
        ),
        # These run `python -m lifecycle.drift` in a subprocess given only PATH: mutmut's
        # trampoline reads MUTANT_UNDER_TEST from the environment, so no mutant is switched on
        # there and they can kill none, at ~5 s per surviving mutant (test_drift_parts.py
        # checks the same refusals in process).
        deselect=(
            "tests/lifecycle/test_drift_job.py::test_bad_config_exits_2_naming_each_field",
            "tests/lifecycle/test_drift_job.py::test_bad_baseline_exits_2_naming_model_file_and_field",
        ),
    ),
    "client": Module(
        ("mlplat/client/*.py",),
        (
            "tests/client/test_client.py",
            "tests/client/test_client_contract.py",
            "tests/client/test_https_route.py",
            "tests/client/test_route_tokens.py",
        ),
    ),
    # Which route group (load balancer) serves each EKS model, and the mlplat:routes settings.
    "routes": Module(
        ("components/serving/route_groups.py", "infra/declarations/routes.py"),
        (
            "tests/serving/test_route_groups.py",
            "tests/foundation/test_route_settings.py",
            "tests/foundation/test_field_messages.py",  # the route settings' messages
            "tests/compute/test_model_routes.py",  # its stack previews are skipped here
            "tests/layers/test_route_shards.py",
            "tests/policies/test_route_rules.py",
        ),
        without_engine=True,
    ),
    "registry_routes": Module(
        ("components/registry_route.py", "components/registry_records.py"),
        ("tests/client/test_client.py", "tests/serving/test_registry_records.py"),
        without_engine=True,
    ),
    # Whether an EKS model's pods fit its team's quota and the cluster's nodes, with what a pod
    # requests (sidecars, init containers); scheduling.py was measured with declarations_rules
    # until the pods' requests moved to pod_requests.py.
    "scheduling": Module(
        ("infra/declarations/scheduling.py", "infra/declarations/pod_requests.py"),
        (*DECLARATION_TESTS, "tests/foundation/test_pod_requests.py"),
        without_engine=True,
    ),
    "tagging": Module(
        ("infra/tagging.py", "infra/declarations/tags.py"),
        ("tests/foundation/test_tagging.py", "tests/foundation/test_tagging_owners.py"),
    ),
    # The cost model's pricers and its price list, budgets and resource graph (estimate.py is
    # `cost_estimate`). Not the tests that preview the shipped stacks (test_readme_costs.py,
    # test_cost_stacks.py, test_cost_cli.py, test_cost_replacements.py); the mapped tests' previews
    # are skipped where the engine would start (the pricers are tested on built graphs too).
    "cost_pricers": Module(
        (
            "cost_model/budgets.py",
            "cost_model/events.py",
            "cost_model/graph.py",
            "cost_model/lifecycle.py",
            "cost_model/prices.py",
            "cost_model/prometheus.py",
            "cost_model/route_auth.py",
            "cost_model/unpriced.py",
        ),
        (
            "tests/cost/test_cost_graph.py",
            "tests/cost/test_cost_prices.py",
            "tests/cost/test_cost_refresh.py",
            "tests/cost/test_cost_budgets.py",
            "tests/cost/test_cost_budget_policy.py",
            "tests/cost/test_cost_basis.py",
            "tests/cost/test_cost_estimate.py",
            "tests/cost/test_event_costs.py",
            "tests/cost/test_lifecycle_costs.py",
            "tests/cost/test_network_costs.py",
            "tests/cost/test_pipeline_costs.py",
            "tests/cost/test_prometheus_cost.py",
            "tests/cost/test_route_auth_costs.py",
            "tests/cost/test_unpriced.py",
        ),
        without_engine=True,
    ),
    # The events gateway sidecar (issue 18) and the per-model `events` declaration. The
    # publisher's own tests run against librdkafka's in-process mock cluster (they did not hang
    # forked workers: their producers and consumers are closed before each test ends).
    "events_gateway": Module(
        ("lifecycle/events/gateway/*.py", "infra/declarations/events.py"),
        ("tests/lifecycle/test_events_gateway.py", "tests/foundation/test_events_declaration.py"),
        deselect=(
            # `python -m lifecycle.events.gateway` in a subprocess given only PATH: no mutant is
            # switched on there (as for drift); the same refusal is checked in process.
            f"{GATEWAY_TESTS}::test_the_entry_point_exits_2_on_bad_settings_without_a_traceback",
            # The whole gateway (serve) with Kafka, end to end: a kill through them waits up to
            # 20 s for events a mutant stopped, a survivor pays all of them (a run would take
            # hours). Their behaviours are checked in process (serve, the proxy, the publisher)
            # and they run in the normal suite.
            *(f"{GATEWAY_TESTS}::{name}" for name in GATEWAY_END_TO_END),
        ),
        without_engine=True,
        # a survivor runs ~5 s of tests; 5 x that ends a mutant that hangs within half a minute
        timeout_multiplier=5,
    ),
    # The monitoring the platform generates (issue 15): metrics, alert rules, AMP's quotas,
    # scrape and statsD mapping, Alertmanager, dashboards. Not synthetic.py (the tests' fleets:
    # a mutant there changes the tests' input) nor __main__.py (it only writes the files). The
    # promtool tests stay: the rules they check are generated in process, where the mutant is on.
    "monitoring": Module(
        (
            "lifecycle/monitoring/alertmanager.py",
            "lifecycle/monitoring/amp_namespaces.py",
            "lifecycle/monitoring/dashboards.py",
            "lifecycle/monitoring/metrics.py",
            "lifecycle/monitoring/objectives.py",
            "lifecycle/monitoring/prometheus_rules.py",
            "lifecycle/monitoring/scrape_config.py",
            "lifecycle/monitoring/statsd_mapping.py",
        ),
        (
            "tests/lifecycle/test_prometheus_rules.py",
            "tests/lifecycle/test_alert_behaviour.py",
            "tests/lifecycle/test_amp_quotas.py",
            "tests/lifecycle/test_dashboards.py",
            "tests/lifecycle/test_objectives.py",
            "tests/lifecycle/test_serving_metrics.py",
            "tests/lifecycle/test_monitoring_configs.py",
            "tests/compute/test_monitoring.py",  # its stack previews are skipped here
            "tests/compute/test_manifests.py",  # the model pod, sidecar included, as Kubernetes
            "tests/compute/test_eks_models.py",
            "tests/compute/test_events_gateway_pod.py",
            "tests/compute/test_pod_reachability.py",
            "tests/compute/test_tenancy.py",
            "tests/layers/test_layered_monitoring.py",
            "tests/policies/test_prometheus_policies.py",
            "tests/policies/test_service_rule_messages.py",
        ),
        without_engine=True,
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--keep", action="store_true", help="keep the mutated copy for `show`")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument(
        "--again",
        metavar="DIR",
        type=Path,
        help="in the copy a --keep run of one MODULE left: take the current tests in and re-run "
        "only the mutants that survived or timed out there (minutes, not the whole run again)",
    )
    args = parser.parse_args()
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
    if args.again and len(args.modules) != 1:
        parser.error("--again takes the one MODULE whose kept copy DIR is")
    for name in args.modules or MODULES:
        if args.again:
            result = again(name, MODULES[name], args.again, jobs=args.jobs)
        else:
            result = run(name, MODULES[name], keep=args.keep, jobs=args.jobs)
        # Read just before writing: runs of other modules may have finished meanwhile.
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results[name] = result
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(summary_line(name, result), flush=True)
        if len(result["by_file"]) > 1:
            for source, figures in result["by_file"].items():
                print(
                    f"  {source}: {figures['killed']} of {figures['mutants']} killed, "
                    f"{figures['equivalent']} equivalent, score {figures['score_percent']}%"
                )
        for survivor in result["survivors"]:
            print(f"  survived: {survivor['name']}\n{survivor['diff']}")
    return 0


def run(name: str, module: Module, *, keep: bool, jobs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"mlplat-mutation-{name}-"))
    try:
        commit = _commit()  # what is copied, not what HEAD is when the run ends
        _copy_work_tree(work)
        for pattern in module.sources if module.undecorate else ():
            for path in work.glob(pattern):
                _undecorate(path, module.undecorate)
        _configure(work / "pyproject.toml", module)
        mutmut = str(Path(sys.executable).with_name("mutmut"))
        started = time.monotonic()
        environment = _environment(module)
        ran = subprocess.run(
            [mutmut, "run", "--max-children", str(jobs)],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
        )
        if ran.returncode != 0:  # e.g. a mapped test fails without any mutant
            raise SystemExit(f"mutmut failed for {name}:\n{ran.stdout[-3000:]}{ran.stderr[-3000:]}")
        wall = time.monotonic() - started
        return summarise(name, module, work, commit=commit, wall=wall)
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def again(name: str, module: Module, work: Path, *, jobs: int) -> dict:
    """Re-run the survivors and timeouts of a kept run in `work` against the tests as they are.

    The sources mutated stay those of the kept run (its commit): only test files are taken in,
    into the copy and into mutmut's own tree, which it does not refresh. The same test files
    must be mapped (a changed selection makes mutmut reset every result). The figures keep the
    kept run's commit and wall time and say what was re-run, when and at which commit."""
    previous = json.loads(RESULTS.read_text())[name]
    survivors = [s["name"] for s in summarise(name, module, work, commit="", wall=0)["survivors"]]
    # and the timeouts: a test that waited forever on a mutant may now bound its wait and fail
    survivors += sorted(m for m, status in _statuses(work).items() if status == "timeout")
    for relative in _listed("tests"):
        for target in (work / relative, work / "mutants" / relative):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, target)
    started = time.monotonic()
    if survivors:
        environment = _environment(module)
        mutmut = str(Path(sys.executable).with_name("mutmut"))
        ran = subprocess.run(
            [mutmut, "run", "--max-children", str(jobs), *survivors],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
        )
        if ran.returncode != 0:
            raise SystemExit(f"mutmut failed for {name}:\n{ran.stdout[-3000:]}{ran.stderr[-3000:]}")
    result = summarise(name, module, work, commit=previous["commit"], wall=previous["wall_seconds"])
    result["date"] = previous["date"]
    result["survivors_rerun"] = {
        "mutants": len(survivors),
        "tests_at": _commit(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(time.monotonic() - started),
    }
    return result


def summarise(name: str, module: Module, work: Path, *, commit: str, wall: float) -> dict:
    """The figures of a finished run in `work` (the copy mutmut ran in)."""
    statuses = _statuses(work)
    equivalent = _equivalents().get(name, {})
    survivors = []
    for mutant, status in sorted(statuses.items()):
        if status in ("survived", "no tests") and mutant not in equivalent:
            survivors.append({"name": mutant, "status": status, "diff": _diff(work, mutant)})
    counts = {s: sum(1 for v in statuses.values() if v == s) for s in set(STATUS.values())}
    judged_equivalent = [m for m in equivalent if statuses.get(m) in ("survived", "no tests")]
    stale = sorted(set(equivalent) - set(judged_equivalent))
    scored = len(statuses) - len(judged_equivalent)
    by_file = {}
    for source in sorted({_source_of(m) for m in statuses}):
        mine = {m: v for m, v in statuses.items() if _source_of(m) == source}
        killed = sum(1 for v in mine.values() if v == "killed")
        equal = sum(1 for m in judged_equivalent if _source_of(m) == source)
        by_file[source] = {
            "mutants": len(mine),
            "killed": killed,
            "equivalent": equal,
            "score_percent": round(100 * killed / (len(mine) - equal), 1)
            if len(mine) > equal
            else None,
        }
    return {
        "commit": commit,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sources": list(module.sources),
        "tests": list(module.tests),
        "mutants": len(statuses),
        "killed": counts["killed"],
        "survived": counts["survived"],
        "no_tests": counts["no tests"],
        "timeouts": counts["timeout"],
        "other": len(statuses) - sum(counts.values()),
        "equivalent": len(judged_equivalent),
        "stale_equivalents": stale,  # listed as equivalent but now killed or gone
        "score_percent": round(100 * counts["killed"] / scored, 1) if scored else None,
        "wall_seconds": round(wall),
        "by_file": by_file,  # the same score per mutated module
        "survivors": survivors,
    }


def _environment(module: Module) -> dict[str, str]:
    # hypothesis profile `mutation` (tests/conftest.py): the suite's examples, failures not shrunk
    environment = os.environ | {"HYPOTHESIS_PROFILE": "mutation"}
    return environment | ({NO_ENGINE: "1"} if module.without_engine else {})


def _listed(*paths: str) -> list[str]:
    """Tracked and new (not ignored) files under ``paths`` (all when none), relative to ROOT."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z", *paths],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    return [relative for relative in listed if relative]


def _copy_work_tree(target: Path) -> None:
    """Tracked and new (not ignored) files as they are now, uncommitted edits included."""
    for relative in _listed():
        source = ROOT / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def _undecorate(path: Path, decorators: tuple[str, ...]) -> None:
    """``@rule(...)`` over a module-level ``def f`` becomes ``f = rule(...)(f)`` after it."""
    import libcst as cst  # mutmut's own dependency

    def named(decorator: cst.Decorator) -> bool:
        call = decorator.decorator
        function = call.func if isinstance(call, cst.Call) else call
        return isinstance(function, cst.Name) and function.value in decorators

    module = cst.parse_module(path.read_text())
    body = []
    for statement in module.body:
        if not (
            isinstance(statement, cst.FunctionDef)
            and statement.decorators
            and all(named(d) for d in statement.decorators)
        ):
            body.append(statement)
            continue
        body.append(statement.with_changes(decorators=()))
        value: cst.BaseExpression = cst.Name(statement.name.value)
        for decorator in reversed(statement.decorators):
            value = cst.Call(func=decorator.decorator, args=[cst.Arg(value)])
        target = cst.AssignTarget(cst.Name(statement.name.value))
        body.append(cst.SimpleStatementLine([cst.Assign(targets=[target], value=value)]))
    path.write_text(module.with_changes(body=body).code)


def _configure(pyproject: Path, module: Module) -> None:
    def array(values) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    # Files tests read from the project root (the cost tests compare README.md's cost table).
    pulumi_files = sorted(p.name for p in ROOT.glob("Pulumi*.yaml")) + ["README.md"]
    pyproject.write_text(
        pyproject.read_text()
        + "\n[tool.mutmut]\n"
        + f"source_paths = {array(PACKAGES)}\n"
        + f"only_mutate = {array(module.sources)}\n"
        + f"also_copy = {array(pulumi_files)}\n"
        + f"pytest_add_cli_args_test_selection = {array(module.tests)}\n"
        + "pytest_add_cli_args = "
        + array(["-p", "no:cacheprovider", "-x", *(f"--deselect={t}" for t in module.deselect)])
        + "\n"
        # the copy is no git repository
        + "use_git_change_detection = false\n"
        + (
            f"timeout_multiplier = {module.timeout_multiplier}\n"
            if module.timeout_multiplier
            else ""
        )
    )


def _statuses(work: Path) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for meta in (work / "mutants").rglob("*.meta"):
        for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            statuses[mutant] = STATUS.get(code, "not checked" if code is None else "suspicious")
    return statuses


def _source_of(mutant: str) -> str:
    """The module a mutant is in: ``policies.rules.eks.x_rule__mutmut_3`` -> ``policies.rules.eks``
    (methods are ``module.xǁClassǁmethod__mutmut_N``)."""
    return re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]


def _diff(work: Path, mutant: str) -> str:
    """The lines a mutant changes: its function against the original in mutmut's mutated copy
    of the module (what ``mutmut show`` prints, without a process per mutant)."""
    module, _, function = mutant.rpartition(".x")
    function = "x" + function
    functions = _functions(work / "mutants" / (module.replace(".", "/") + ".py"))
    original = functions.get(re.sub(r"__mutmut_\d+$", "__mutmut_orig", function), [])
    changed = difflib.unified_diff(original, functions.get(function, []), lineterm="", n=0)
    return "\n".join(
        f"    {line}" for line in changed if line[:1] in "+-" and line[:3] not in ("+++", "---")
    )


@cache
def _functions(path: Path) -> dict[str, list[str]]:
    """Each function's body lines (without its `def` line) in a mutated module."""
    source = path.read_text()
    return {
        node.name: ast.get_source_segment(source, node).splitlines()[1:]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _equivalents() -> dict[str, dict[str, str]]:
    """Module -> {mutant name: why no input can tell it from the original}."""
    if not EQUIVALENTS.exists():
        return {}
    return tomllib.loads(EQUIVALENTS.read_text())


def _commit() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        # the results file itself changes with every run: it says nothing about the code measured
        [
            "git",
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            f":!{RESULTS.relative_to(ROOT)}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}+uncommitted" if dirty else head


def summary_line(name: str, r: dict) -> str:
    return (
        f"{name}: {r['mutants']} mutants, {r['killed']} killed, {r['survived']} survived, "
        f"{r['no_tests']} without tests, {r['equivalent']} equivalent, {r['timeouts']} timeouts; "
        f"score {r['score_percent']}% in {r['wall_seconds']} s at {r['commit']}"
    )


if __name__ == "__main__":
    sys.exit(main())
