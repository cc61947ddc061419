"""The promotion step the workflow runs: the approved package's model, its declaration's version
bumped by one; a package it cannot map is exit 2 with a message naming it."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from infra.project import PROJECT_ROOT
from mlplat import promotion


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(PROJECT_ROOT / "model_packages", tmp_path / "model_packages")
    monkeypatch.setattr(promotion, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(promotion.promote, "__defaults__", (tmp_path, None))
    return tmp_path


def test_the_workflow_gets_branch_title_body_and_path(repo, capsys):
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlplat-dev-churn-predictor/7"
    code = promotion.main(
        [
            "--environment",
            "dev",
            "--package-group",
            "mlplat-dev-churn-predictor",
            "--package-arn",
            arn,
            "--package-version",
            "7",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["path"] == "model_packages/churn_predictor/__init__.py"
    text = (repo / out["path"]).read_text()
    old = (PROJECT_ROOT / out["path"]).read_text()
    assert out["branch"].startswith("promote/churn-predictor-v") and arn in out["body"]
    assert text != old and "framework_version" in text


@pytest.mark.parametrize(
    ("group", "why"),
    [
        ("mlplat-prod-churn-predictor", "is not one of dev's models"),
        ("mlplat-dev-no-such-model", "one declaration expected, found no file"),
    ],
)
def test_a_package_that_names_no_declared_model_is_exit_2(repo, capsys, group, why):
    code = promotion.main(
        ["--environment", "dev", "--package-group", group, "--package-arn", "arn:x"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err


def test_a_declaration_without_one_literal_version_is_left_to_a_person(repo, capsys):
    path = repo / "model_packages/fraud_scorer/__init__.py"
    # Whatever version it declares (the CI-green test bumps it), made a name instead.
    text, replaced = re.subn(
        r"^    version=\d+,$", "    version=VERSION,", path.read_text(), count=1, flags=re.M
    )
    assert replaced == 1, "the declaration no longer states its version on one line"
    path.write_text(text)
    code = promotion.main(
        ["--environment", "dev", "--package-group", "mlplat-dev-fraud-scorer", "--package-arn", "x"]
    )
    assert code == 2 and "bump it by hand" in capsys.readouterr().err


RETRAINED = (
    "s3://mlplat-dev-artifacts-0123/retraining/teams/fraud/"
    "pipelines-x1-Train-Ab12/output/model.tar.gz"
)


def _promote(*extra: str) -> int:
    return promotion.main(
        [
            "--environment",
            "dev",
            "--package-group",
            "mlplat-dev-fraud-scorer",
            "--package-arn",
            "arn:x",
            *extra,
        ]
    )


def test_the_approved_model_data_becomes_the_declared_artifact(repo, capsys):
    path = "model_packages/fraud_scorer/__init__.py"
    before = (repo / path).read_text()
    old_artifact = re.search(r'artifact="([^"]+)"', before)[1]
    old_version = int(re.search(r"^    version=(\d+),$", before, re.M)[1])
    assert _promote("--model-data", RETRAINED) == 0
    out = json.loads(capsys.readouterr().out)
    after = (repo / path).read_text()
    assert after == before.replace(
        f"version={old_version},", f"version={old_version + 1},"
    ).replace(f'artifact="{old_artifact}"', f'artifact="{RETRAINED}"')
    assert RETRAINED in out["body"] and old_artifact in out["body"]


def test_without_model_data_the_artifact_is_left_and_the_body_says_so(repo, capsys):
    path = repo / "model_packages/fraud_scorer/__init__.py"
    artifact = re.search(r'artifact="([^"]+)"', path.read_text())[1]
    assert _promote("--model-data", "") == 0  # what the workflow passes from an older dispatch
    assert f'artifact="{artifact}"' in path.read_text()
    assert "`artifact` is unchanged" in json.loads(capsys.readouterr().out)["body"]


@pytest.mark.parametrize(
    ("declared", "count"),
    [
        ('    # artifact="models:/fraud-scorer/3",\n    artifact="a",\n', 2),  # which one?
        ("    artifact=ARTIFACT,\n", 0),  # a name, not a literal
        ('    artifact=f"{ROOT}/model",\n', 0),  # an f-string
    ],
)
def test_a_declaration_without_one_literal_artifact_is_left_to_a_person(
    repo, capsys, declared, count
):
    path = repo / "model_packages/fraud_scorer/__init__.py"
    before = path.read_text()
    text, replaced = re.subn(r'^    artifact="[^"]+",\n', declared, before, count=1, flags=re.M)
    assert replaced == 1, "the declaration no longer states its artifact on one line"
    path.write_text(text)
    assert _promote("--model-data", RETRAINED) == 2
    err = capsys.readouterr().err
    assert f'{count} literal artifact="..." fields; set it to {RETRAINED} by hand' in err
    assert "fraud_scorer/__init__.py" in err and "Traceback" not in err
    assert path.read_text() == text  # nothing half-done: the version is not bumped either


def test_model_data_that_is_not_a_model_tar_gz_in_s3_is_exit_2(repo, capsys):
    path = repo / "model_packages/fraud_scorer/__init__.py"
    before = path.read_text()
    assert _promote("--model-data", "s3://bucket/retraining/model.pkl") == 2
    err = capsys.readouterr().err
    assert "--model-data s3://bucket/retraining/model.pkl is not a SageMaker model artifact" in err
    assert path.read_text() == before
