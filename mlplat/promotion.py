"""Promotion: an approved model version becomes a change to its declaration in git.

``.github/workflows/promote-model.yml`` runs this on the ``repository_dispatch`` an approved
model package sends (components/lifecycle/events.py): it finds the declaration of the package
group's model under ``model_packages/``, bumps its ``version`` by one in place and, given the
package's ``ModelDataUrl`` (``--model-data s3://.../model.tar.gz``, the retrained MLflow model the
training job wrote), makes its literal ``artifact="..."`` that URI, so the new version serves what
was approved (the file is otherwise untouched). It prints the branch, title and body the workflow
opens a pull request with. Serving changes only when that pull request is merged and deployed:
git stays the source of truth, nothing edits a live endpoint.

Exit 2 with a message (no traceback) when the group names no declared model, when its
declaration has no literal ``version=<n>`` to bump or (with ``--model-data``) no single literal
``artifact="..."`` to replace, or when the model data is not a ``model.tar.gz`` in S3.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.project import PROJECT_ROOT
from model_packages.packaging import sagemaker_artifact_problem

_VERSION = re.compile(r"(\bversion\s*=\s*)(\d+)")
# A string literal on its own (not "a" "b", not an f-string): what the workflow can replace.
_ARTIFACT = re.compile(
    r"""\bartifact\s*=\s*(?P<quote>["'])(?P<value>[^"'\\\n]*)(?P=quote)\s*[,)]"""
)


class PromotionError(ValueError):
    """The approved package cannot be mapped to a declaration to bump."""


@dataclass(frozen=True)
class Promotion:
    model: str
    path: Path
    old_version: int
    new_version: int
    package_arn: str
    old_artifact: str | None = None  # set when the artifact was replaced
    new_artifact: str | None = None

    @property
    def branch(self) -> str:
        return f"promote/{self.model}-v{self.new_version}"

    @property
    def title(self) -> str:
        return f"Promote {self.model} to version {self.new_version}"

    def body(self, environment: str, package_version: str) -> str:
        artifact = (
            f" and makes its `artifact` the approved model data `{self.new_artifact}` "
            f"(was `{self.old_artifact}`)"
            if self.new_artifact
            else " (its `artifact` is unchanged: the approval named no model data)"
        )
        return (
            f"Model package `{self.package_arn}` (version {package_version} of its group) was "
            f"approved in `{environment}`.\n\nThis bumps `version` of `{self.model}` from "
            f"{self.old_version} to {self.new_version} in `{self.path.as_posix()}`{artifact}; "
            "merging and deploying it is what serves the new version."
        )


def model_of_group(environment: str, group: str) -> str:
    prefix = f"mlplat-{environment}-"
    if not group.startswith(prefix) or group == prefix:
        raise PromotionError(f"package group {group!r} is not one of {environment}'s models")
    return group.removeprefix(prefix)


def declaration_of(model: str, root: Path) -> Path:
    pattern = re.compile(rf"""\bname\s*=\s*["']{re.escape(model)}["']""")
    found = [
        path
        for path in sorted((root / "model_packages").glob("*/__init__.py"))
        if pattern.search(path.read_text())
    ]
    if len(found) != 1:
        where = ", ".join(p.relative_to(root).as_posix() for p in found) or "no file"
        raise PromotionError(f"model {model!r}: one declaration expected, found {where}")
    return found[0]


def promote(
    environment: str,
    group: str,
    package_arn: str,
    root: Path = PROJECT_ROOT,
    model_data: str | None = None,
) -> Promotion:
    model = model_of_group(environment, group)
    path = declaration_of(model, root)
    where = f"model {model!r} ({path.relative_to(root).as_posix()})"
    if model_data is not None and (problem := sagemaker_artifact_problem(model_data)):
        raise PromotionError(f"{where}: --model-data {problem}")
    text = path.read_text()
    versions = list(_VERSION.finditer(text))
    if len(versions) != 1:
        raise PromotionError(
            f"{where}: {len(versions)} literal version=<n> fields; bump it by hand"
        )
    old = int(versions[0][2])
    edits = [(versions[0].span(2), str(old + 1))]
    old_artifact = None
    if model_data is not None:
        artifacts = list(_ARTIFACT.finditer(text))
        if len(artifacts) != 1:
            raise PromotionError(
                f'{where}: {len(artifacts)} literal artifact="..." fields; '
                f"set it to {model_data} by hand"
            )
        old_artifact = artifacts[0]["value"]
        edits.append((artifacts[0].span("value"), model_data))
    for (start, end), new in sorted(edits, reverse=True):  # from the end: spans stay valid
        text = text[:start] + new + text[end:]
    path.write_text(text)
    return Promotion(
        model,
        path.relative_to(root),
        old,
        old + 1,
        package_arn,
        old_artifact,
        model_data,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlplat.promotion", description=__doc__)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--package-group", required=True)
    parser.add_argument("--package-arn", required=True)
    parser.add_argument("--package-version", default="?")
    parser.add_argument(
        "--model-data",
        default=None,
        help="the approved package's ModelDataUrl (s3://.../model.tar.gz): the new artifact",
    )
    args = parser.parse_args(argv)
    try:
        done = promote(
            args.environment,
            args.package_group,
            args.package_arn,
            model_data=args.model_data or None,  # an empty value: an approval without one
        )
    except PromotionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "branch": done.branch,
                "title": done.title,
                "body": done.body(args.environment, args.package_version),
                "path": done.path.as_posix(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
