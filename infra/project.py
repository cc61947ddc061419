"""Where the project is and what it is called: the Pulumi project name and its root folder."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_NAME = "mlplat"  # as in Pulumi.yaml; part of every URN
# The price snapshot (AWS list prices per region): the cost estimator reads it, and placement
# chooses endpoint instance types by it, so it lives here, below both.
PRICE_SNAPSHOT = PROJECT_ROOT / "infra" / "prices.json"
