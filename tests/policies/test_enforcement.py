"""Enforcement follows the environment in the URN; the pack config overrides levels and settings;
`mlplat policy check` prints and exits accordingly."""

from __future__ import annotations

import json

import pytest
from policy_cases import (
    budget,
    changed,
    eks_component_cluster,
    export,
    iam_policy,
    in_stack,
    kms_key,
    table,
)
from typer.testing import CliRunner

from mlplat.commands_policy import policy_app
from mlplat.policy_check import ExportError, PolicyConfigError, check, has_mandatory
from policies.framework import effective_enforcement, is_prod, stack_of
from policies.registry import policy_named

unrotated = changed(kms_key(), "enableKeyRotation", False)
admin_policy = changed(
    iam_policy(),
    "policy",
    json.dumps({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
)


def levels(*entries, stack="prod", config=None) -> dict[str, str]:
    violations = check(export(*entries, budget(), stack=stack), config=config)
    return {v.policy: v.enforcement for v in violations}


def test_stack_is_read_from_the_urn():
    assert stack_of("urn:pulumi:prod::mlplat::aws:kms/key:Key::platform") == "prod"
    assert stack_of("urn:pulumi:dev::mlplat::mlplat:data:Data$aws:kms/key:Key::k") == "dev"
    assert not is_prod("urn:pulumi:production::mlplat::aws:kms/key:Key::k")
    assert stack_of("not-a-urn") == ""


def test_advisory_rules_are_mandatory_in_prod_only():
    assert levels(unrotated) == {"kms-key-rotation": "mandatory"}
    assert levels(in_stack(unrotated, "dev"), stack="dev") == {"kms-key-rotation": "advisory"}
    assert levels(in_stack(unrotated, "staging"), stack="staging") == {
        "kms-key-rotation": "advisory"
    }


def test_critical_rules_are_mandatory_everywhere():
    # "*" on "*" also passes any role: both IAM rules fire, mandatory even in dev.
    assert levels(in_stack(admin_policy, "dev"), stack="dev") == {
        "iam-no-wildcard-admin": "mandatory",
        "iam-no-passrole-wildcard": "mandatory",
    }


def test_prod_only_rules_do_not_fire_elsewhere():
    unprotected = changed(table(), "@protect", False)
    assert levels(unprotected) == {"prod-stateful-protected": "mandatory"}
    assert levels(in_stack(unprotected, "dev"), stack="dev") == {}


def test_config_overrides_the_level_everywhere():
    dev_key = in_stack(unrotated, "dev")
    assert levels(dev_key, stack="dev", config={"kms-key-rotation": "mandatory"}) == {
        "kms-key-rotation": "mandatory"
    }
    assert levels(unrotated, config={"kms-key-rotation": {"enforcementLevel": "disabled"}}) == {}
    assert levels(unrotated, config={"all": "disabled"}) == {}


def test_engine_config_repeating_the_declared_level_keeps_prod_mandatory():
    # The engine sends every policy's level; the declared one is not an override.
    policy = policy_named("kms-key-rotation")
    urn = unrotated["urn"]
    assert effective_enforcement(policy, urn, policy.enforcement_level).value == "mandatory"


def test_config_properties_tune_rules():
    old = changed(eks_component_cluster(), "version", "1.29")
    assert "eks-version-allowed" in levels(old)
    assert "eks-version-allowed" not in levels(
        old, config={"eks-version-allowed": {"allowedVersions": ["1.29"]}}
    )


def test_bad_config_and_documents_are_clear_errors():
    with pytest.raises(PolicyConfigError, match="no-such-rule"):
        check(export(table()), config={"no-such-rule": "mandatory"})
    with pytest.raises(PolicyConfigError, match="sometimes"):
        check(export(table()), config={"dynamodb-pitr": "sometimes"})
    with pytest.raises(ExportError, match="version 3"):
        check({"version": 2, "deployment": {"resources": []}})
    with pytest.raises(ExportError, match=r"resources\[0\]"):
        check({"version": 3, "deployment": {"resources": [{"urn": "x"}]}})


def test_has_mandatory():
    assert has_mandatory(check(export(unrotated, budget())))
    assert not has_mandatory(
        check(export(in_stack(unrotated, "dev"), in_stack(budget(), "dev"), stack="dev"))
    )


@pytest.fixture
def write_export(tmp_path):
    def write(*entries, stack="prod"):
        path = tmp_path / f"{stack}.json"
        path.write_text(json.dumps(export(*entries, stack=stack)))
        return str(path)

    return write


def test_cli_json_and_exit_codes(write_export):
    runner = CliRunner()
    prod = write_export(unrotated, budget())
    result = runner.invoke(policy_app, ["check", "--file", prod, "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output) == {
        "violations": [
            {
                "policy": "kms-key-rotation",
                "enforcement": "mandatory",
                "severity": "medium",
                "urn": unrotated["urn"],
                "message": "enableKeyRotation is not true",
            }
        ]
    }

    dev = write_export(in_stack(unrotated, "dev"), in_stack(budget(), "dev"), stack="dev")
    result = runner.invoke(policy_app, ["check", "--file", dev])
    assert result.exit_code == 0, result.output
    assert "kms-key-rotation" in result.output and "advisory" in result.output

    clean = write_export(kms_key(), budget())
    result = runner.invoke(policy_app, ["check", "--file", clean])
    assert result.exit_code == 0 and "No policy violations" in result.output


def test_cli_config_file(write_export, tmp_path):
    config = tmp_path / "pack-config.json"
    config.write_text(json.dumps({"kms-key-rotation": "advisory"}))
    prod = write_export(unrotated, budget())
    result = CliRunner().invoke(policy_app, ["check", "--file", prod, "--config", str(config)])
    # "advisory" equals the declared level, so prod keeps it mandatory (see effective_enforcement)
    assert result.exit_code == 1
    config.write_text(json.dumps({"kms-key-rotation": "disabled"}))
    result = CliRunner().invoke(policy_app, ["check", "--file", prod, "--config", str(config)])
    assert result.exit_code == 0


def test_cli_rejects_bad_input(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1}')
    result = runner.invoke(policy_app, ["check", "--file", str(bad)])
    assert result.exit_code == 2 and "version 3" in result.output
    assert runner.invoke(policy_app, ["check"]).exit_code == 2


def test_export_secrets_are_read_as_the_engine_sends_them():
    sig, secret = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
    shown = changed(
        table(), "pointInTimeRecovery", {sig: secret, "plaintext": json.dumps({"enabled": False})}
    )
    assert levels(shown) == {"dynamodb-pitr": "mandatory"}
    hidden = changed(kms_key(), "description", {sig: secret, "ciphertext": "AAABAM..."})
    assert levels(hidden) == {}


@pytest.mark.slow
def test_cli_previews_a_stack_then_checks_it():
    # The dev stack as shipped: previewed offline, then checked; no mandatory violation.
    result = CliRunner().invoke(policy_app, ["check", "--stack", "dev", "--json"])
    assert result.exit_code == 0, result.output
    violations = json.loads(result.output)["violations"]
    assert all(v["enforcement"] != "mandatory" for v in violations)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--stack", "qa"], "unknown stack 'qa' (no Pulumi.qa.yaml)"),
        (["--file", "inputs-not-an-object"], "inputs is not an object"),
        (["--file", "clean", "--config", "list-config"], "the pack config must be an object"),
        (["--file", "clean", "--config", "number-config"], "the pack config must be an object"),
    ],
)
def test_cli_reports_bad_input_as_input_errors_not_violations(args, words, tmp_path):
    """Exit 2 with a message, never a traceback or the exit 1 that means a mandatory violation."""
    files = {
        "inputs-not-an-object": {
            "version": 3,
            "deployment": {
                "resources": [{"urn": "urn:pulumi:dev::p::t::n", "type": "t", "inputs": "oops"}]
            },
        },
        "clean": export(),
        "list-config": ["kms-key-rotation"],
        "number-config": {"kms-key-rotation": 5},
    }
    paths = []
    for arg in args:
        if arg in files:
            path = tmp_path / f"{arg}.json"
            path.write_text(json.dumps(files[arg]))
            arg = str(path)
        paths.append(arg)
    result = CliRunner().invoke(policy_app, ["check", *paths])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
