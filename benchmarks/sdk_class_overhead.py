"""How much of the preview's distance to its floor is the providers' generated classes themselves.

    python benchmarks/sdk_class_overhead.py --count 1000 --json

For each resource type a model on a multi-model endpoint owns, it registers ``count`` resources
with the provider SDK's generated class (``aws.s3.BucketObjectv2(...)``) and, in the same process,
the same type, names and inputs as a plain ``pulumi.CustomResource`` (what ``preview_scale.py``'s
floor does), each on a fresh capturing mock monitor, best of ``--repeat``. It prints
``{type: {"typed_seconds", "plain_seconds", "ratio"}}``. A generated class declares every output
property of its type, and the SDK creates, resolves and serialises an ``Output`` for each, so a
program that uses the generated classes (as every Pulumi program does) cannot reach that floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

AWS_VERSION = "7.51.1"

# type token -> (generated-class constructor, the same inputs as the engine names them)
CASES: dict[str, tuple[Callable[[str], object], dict]] = {
    "aws:s3/bucketObjectv2:BucketObjectv2": (
        lambda name: aws.s3.BucketObjectv2(
            name,
            bucket="artifacts",
            key=f"teams/t/{name}.tar.gz",
            content_type="application/gzip",
            server_side_encryption="aws:kms",
            kms_key_id="arn:aws:kms:us-east-1:1:key/k",
            metadata={"sha256": "0" * 64},
        ),
        {
            "bucket": "artifacts",
            "contentType": "application/gzip",
            "serverSideEncryption": "aws:kms",
            "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
            "metadata": {"sha256": "0" * 64},
        },
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        lambda name: aws.sagemaker.ModelPackageGroup(
            name, model_package_group_name=name, model_package_group_description="a model"
        ),
        {"modelPackageGroupDescription": "a model"},
    ),
    "aws:dynamodb/tableItem:TableItem": (
        lambda name: aws.dynamodb.TableItem(
            name,
            table_name="registry",
            hash_key="modelKey",
            range_key="version",
            item=json.dumps({"modelKey": {"S": name}, "version": {"N": "1"}}),
        ),
        {"tableName": "registry", "hashKey": "modelKey", "rangeKey": "version"},
    ),
}


def _register(program: Callable[[], None]) -> float:
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from mlplat.offline.mocks import AwsLikeMocks
    from mlplat.offline.monitor import CapturingMonitor

    mocks = AwsLikeMocks(region="us-east-1", account="123456789012")
    monitor = CapturingMonitor(mocks, stack="dev", project="mlplat")
    runtime_settings.set_root_resource(None)
    set_mocks(mocks, project="mlplat", stack="dev", preview=False, monitor=monitor)
    started = time.perf_counter()
    _sync_await(run_pulumi_func(program))
    return time.perf_counter() - started


def measure(count: int, repeat: int) -> dict[str, dict[str, float]]:
    results = {}
    for type_, (typed, inputs) in CASES.items():

        def typed_program(typed=typed) -> None:
            for index in range(count):
                typed(f"r{index}")

        def plain_program(type_=type_, inputs=inputs) -> None:
            opts = pulumi.ResourceOptions(version=AWS_VERSION)
            for index in range(count):
                name = f"r{index}"
                props = {**inputs, "key": f"teams/t/{name}.tar.gz"} if "s3" in type_ else inputs
                pulumi.CustomResource(type_, name, props, opts)

        _register(plain_program)  # warm-up
        typed_best = min(_register(typed_program) for _ in range(repeat))
        plain_best = min(_register(plain_program) for _ in range(repeat))
        results[type_] = {
            "typed_seconds": round(typed_best, 3),
            "plain_seconds": round(plain_best, 3),
            "ratio": round(typed_best / plain_best, 2),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="Resources of each type.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each; the best is kept.")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    results = measure(args.count, args.repeat)
    print(json.dumps(results) if args.json else json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
