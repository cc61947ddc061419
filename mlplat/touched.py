"""Which layered stacks a change touches: those whose offline export differs from the base's.

    python -m mlplat.touched export <env> <dir>        each layered stack -> <dir>/<stack>.json
    python -m mlplat.touched compare <base-dir> <dir>  the stacks that differ, platform first
    python -m mlplat.touched matrix <file>             those stacks as GitHub Actions job outputs

CI previews both revisions (``.ci/touched-stacks``) and deploys only what this prints: a model
change gives its team's serving stack alone; the platform, when it changes, is deployed first.
Exact by construction: a stack is touched when the engine would see any change in it (inputs,
options, providers, dependencies); a stack that exists on one side only is touched too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.layers import Layer, parse_stack


def _resources(document: Mapping[str, Any] | None) -> dict[str, Any]:
    if document is None:
        return {}
    return {r["urn"]: r for r in document["deployment"]["resources"]}


def deployment_order(stacks: list[str]) -> list[str]:
    """Platform stacks first (serving stacks read their outputs), then serving stacks by name."""
    return sorted(stacks, key=lambda s: (parse_stack(s).layer is not Layer.PLATFORM, s))


def touched_stacks(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Stack name -> export on each side; the stacks whose exports differ, in deployment order."""
    return deployment_order(
        [
            stack
            for stack in before.keys() | after.keys()
            if _resources(before.get(stack)) != _resources(after.get(stack))
        ]
    )


def job_outputs(stacks: list[str]) -> dict[str, str]:
    """``platform``: the platform stack to deploy ("" for none); ``serving``: the serving stacks
    as a JSON matrix of ``{"stack", "team"}`` (the team names its deployer role)."""
    names = [parse_stack(stack) for stack in stacks]
    platform = [str(n) for n in names if n.layer is Layer.PLATFORM]
    serving = [{"stack": str(n), "team": n.team} for n in names if n.layer is Layer.SERVING]
    return {"platform": platform[0] if platform else "", "serving": json.dumps(serving)}


def _read(folder: Path) -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "export":
        from mlplat.offline import preview_layers
        from mlplat.offline.export import write

        folder = Path(argv[2])
        folder.mkdir(parents=True, exist_ok=True)
        for stack, document in preview_layers(argv[1]).items():
            write(document, folder / f"{stack}.json")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        for stack in touched_stacks(_read(Path(argv[1])), _read(Path(argv[2]))):
            print(stack)
        return 0
    if len(argv) == 2 and argv[0] == "matrix":
        stacks = Path(argv[1]).read_text().split()
        for key, value in job_outputs(deployment_order(stacks)).items():
            print(f"{key}={value}")
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
