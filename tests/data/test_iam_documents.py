"""The IAM document builder itself (components/iam_documents.py): what JSON each statement becomes
and which statements it refuses, for any statement, not only the ones the stacks happen to build.

The shapes follow IAM's policy grammar (https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_grammar.html): an element taking a list may be a bare string when it holds one
value, a principal is ``"*"`` or a map of kind to values, Sid is alphanumeric and unique.
"""

from __future__ import annotations

import json

import pulumi
import pytest

from components.iam_documents import (
    VERSION,
    Principal,
    Statement,
    assume_role,
    render,
    render_output,
)

BUCKET = "arn:aws:s3:::b/*"


def test_one_value_is_a_bare_string_and_several_stay_a_list_in_order():
    one = Statement("One", ("s3:GetObject",), (BUCKET,)).to_json()
    assert one["Action"] == "s3:GetObject" and one["Resource"] == BUCKET
    many = Statement("Many", ("s3:PutObject", "s3:GetObject"), (BUCKET, "arn:aws:s3:::b")).to_json()
    assert many["Action"] == ["s3:PutObject", "s3:GetObject"]
    assert many["Resource"] == [BUCKET, "arn:aws:s3:::b"]


def test_an_identity_statement_has_sid_effect_action_resource_and_nothing_else():
    for effect in ("Allow", "Deny"):
        statement = Statement("Read", ("s3:GetObject",), (BUCKET,), effect=effect).to_json()
        assert statement == {
            "Sid": "Read",
            "Effect": effect,
            "Action": "s3:GetObject",
            "Resource": BUCKET,
        }


def test_a_resource_statement_names_its_principal_and_may_omit_resources():
    services = Principal.service("ec2.amazonaws.com", "eks.amazonaws.com")
    trust = Statement("Trust", ("sts:AssumeRole",), principal=services).to_json()
    assert trust == {
        "Sid": "Trust",
        "Effect": "Allow",
        "Principal": {"Service": ["ec2.amazonaws.com", "eks.amazonaws.com"]},
        "Action": "sts:AssumeRole",
    }
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    assert Principal.federated(provider).to_json() == {"Federated": provider}
    assert Principal.service("s3.amazonaws.com").to_json() == {"Service": "s3.amazonaws.com"}


def test_conditions_render_sorted_with_tuples_as_values_and_strings_kept():
    statement = Statement(
        "Scoped",
        ("s3:GetObject",),
        (BUCKET,),
        conditions={
            "StringLike": {"s3:prefix": ("a/*", "b/*"), "aws:PrincipalTag/team": ("fraud",)},
            "ArnNotLike": {"iam:PolicyARN": "arn:aws:iam::aws:policy/*FullAccess"},
        },
    ).to_json()
    assert statement["Condition"] == {
        "ArnNotLike": {"iam:PolicyARN": "arn:aws:iam::aws:policy/*FullAccess"},
        "StringLike": {"aws:PrincipalTag/team": "fraud", "s3:prefix": ["a/*", "b/*"]},
    }
    # sorted: the rendered text is the same whatever order the conditions were written in
    assert list(statement["Condition"]) == ["ArnNotLike", "StringLike"]
    assert list(statement["Condition"]["StringLike"]) == ["aws:PrincipalTag/team", "s3:prefix"]
    assert "Condition" not in Statement("Plain", ("s3:GetObject",), (BUCKET,)).to_json()


@pytest.mark.parametrize(
    "statement",
    [
        {"actions": ("*",), "resources": ("*",), "effect": "Deny"},  # denying everything is safe
        {"actions": ("*",), "resources": (BUCKET,)},  # every action, one bucket
        {"actions": ("s3:ListAllMyBuckets",), "resources": ("*",)},  # resource-less action
        {"actions": ("sts:AssumeRole",), "principal": Principal.anyone()},  # trust, no resources
    ],
)
def test_statements_short_of_the_admin_wildcard_are_accepted(statement):
    assert Statement("Ok", **statement).to_json()["Sid"] == "Ok"


def test_a_statement_id_must_be_alphanumeric_whatever_the_other_characters():
    for sid in ("Has-Dash", "has space", "under_score", "dot.ted", ""):
        with pytest.raises(ValueError, match="alphanumeric"):
            Statement(sid, ("s3:GetObject",), (BUCKET,))
    assert Statement("Mixed09Case", ("s3:GetObject",), (BUCKET,)).sid == "Mixed09Case"


def test_a_document_has_the_current_version_and_every_statement_in_order():
    statements = [
        Statement("B", ("s3:GetObject",), (BUCKET,)),
        Statement("A", ("s3:PutObject",), (BUCKET,)),
    ]
    document = json.loads(render(statements))
    assert document["Version"] == VERSION == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == ["B", "A"]
    assert json.loads(render(iter(statements))) == document  # any iterable, read once


def test_duplicate_statement_ids_are_refused_and_each_named_once():
    a = Statement("A", ("s3:GetObject",), (BUCKET,))
    b = Statement("B", ("s3:GetObject",), (BUCKET,))
    c = Statement("C", ("s3:GetObject",), (BUCKET,))
    with pytest.raises(ValueError, match=r"duplicate statement ids: A, B$"):
        render([b, a, c, a, b, b])
    assert json.loads(render([a, b, c]))["Statement"][2]["Sid"] == "C"


def test_a_trust_policy_is_one_statement_assuming_the_role():
    document = json.loads(assume_role(Principal.service("codebuild.amazonaws.com")))
    assert document == {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "Trust",
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    web = json.loads(
        assume_role(
            Principal.federated("arn:aws:iam::1:oidc-provider/x"),
            action="sts:AssumeRoleWithWebIdentity",
            conditions={"StringEquals": {"x:aud": "sts.amazonaws.com"}},
            sid="GitHub",
        )
    )["Statement"][0]
    assert web["Sid"] == "GitHub" and web["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert web["Condition"] == {"StringEquals": {"x:aud": "sts.amazonaws.com"}}


@pulumi.runtime.test
def test_a_document_of_resolved_values_is_built_from_those_values():
    def build(bucket_arn, role_arn):
        return [
            Statement("Read", ("s3:GetObject",), (f"{bucket_arn}/*",)),
            Statement("Pass", ("iam:PassRole",), (role_arn,)),
        ]

    document = render_output(
        build, pulumi.Output.from_input("arn:aws:s3:::data"), "arn:aws:iam::1:role/r"
    )

    def check(text):
        statements = json.loads(text)["Statement"]
        assert statements[0]["Resource"] == "arn:aws:s3:::data/*"
        assert statements[1]["Resource"] == "arn:aws:iam::1:role/r"

    return document.apply(check)
