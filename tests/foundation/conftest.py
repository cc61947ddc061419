"""Valid raw declarations that each validation test changes in exactly one place."""

from __future__ import annotations

import json

import pytest


def model_data(**changes) -> dict:
    data = {
        "name": "fraud-scorer",
        "version": 1,
        "team": "fraud",
        "framework": "sklearn",
        "framework_version": "1.2-1",
        "artifact": "models:/fraud-scorer/1",
        "serving": "sagemaker-mme",
        "instance_type": "ml.m5.xlarge",
        "resources": {"memory_mb": 512},
        "scaling": {"min_instances": 1, "max_instances": 2},
        "monthly_budget_usd": 100,
    }
    data.update(changes)
    return data


def team_data(**changes) -> dict:
    return {"name": "fraud", "monthly_budget_usd": 1000, **changes}


def config_data(**sections) -> dict[str, str]:
    config = {
        "aws:region": "us-east-1",
        "mlplat:budget": {"monthlyBudgetUsd": 1000, "alertEmails": ["ops@example.com"]},
        "mlplat:ci": {"githubRepository": "example-org/mlplat"},
        **sections,
    }
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }


@pytest.fixture
def valid():
    """The pieces of a valid stack: teams, models and config."""
    return {"teams": [team_data()], "models": [model_data()], "config": config_data()}
