"""How long `mlplat --help` takes, and what it imports: the CLI must answer at once.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 5] [--json]

Each run is a fresh process (`python -m mlplat.cli <args> --help`), timed wall and CPU (the
children's user+sys, which other jobs on a shared machine do not inflate). The best of
``--repeat`` runs is reported, with the heavy SDK modules the process imported (none expected:
commands import them when they run). Target: under 0.5 s CPU for every `--help`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ([], ["preview"], ["cost"], ["policy", "check"], ["models", "list"], ["up"])
HEAVY = ("pulumi", "pulumi_aws", "pulumi_eks", "pulumi_kubernetes", "sagemaker", "mlflow", "boto3")
PROBE = (
    "import runpy, sys, json\n"
    "try:\n"
    "    runpy.run_module('mlplat.cli', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "heavy = %r\n"
    "print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)\n"
)


def run_once(args: list[str]) -> tuple[float, float, list[str]]:
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, json.loads(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    results = []
    for command in COMMANDS:
        runs = [run_once(command) for _ in range(options.repeat)]
        results.append(
            {
                "command": " ".join(["mlplat", *command, "--help"]),
                "seconds": round(min(r[0] for r in runs), 3),
                "cpu_seconds": round(min(r[1] for r in runs), 3),
                "heavy_modules": runs[0][2],
            }
        )
    if options.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        heavy = ", ".join(r["heavy_modules"]) or "none"
        print(f"{r['command']:<32} {r['seconds']:6.3f} s  cpu {r['cpu_seconds']:6.3f} s  {heavy}")


if __name__ == "__main__":
    main()
