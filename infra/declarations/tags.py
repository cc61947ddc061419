"""The tag vocabulary every layer shares: the keys on AWS resources and who owns a resource.

Components declare an ``Ownership``; the stack transform (``infra/tagging.py``) turns it into
these tags; the policy pack, the cost estimator and the budgets read them back.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_ENVIRONMENT = "mlplat:environment"
TAG_TEAM = "mlplat:team"
TAG_MODEL = "mlplat:model"


@dataclass(frozen=True)
class Ownership:
    team: str | None = None
    model: str | None = None


# Usage a resource declares for the cost estimator (cost_model/prometheus.py): the monitoring
# components write them from the declarations; `mlplat cost` reads them back.
TAG_ACTIVE_SERIES = "mlplat:cost:active-series"
TAG_SCRAPE_INTERVAL = "mlplat:cost:scrape-interval-seconds"
TAG_GRAFANA_EDITORS = "mlplat:cost:grafana-editors"
TAG_GRAFANA_VIEWERS = "mlplat:cost:grafana-viewers"
# A Kubernetes label on each route Ingress (components/serving/model_routes.py): its shard "owns"
# the IngressGroup's one load balancer, or "joins" one another serving shard owns; `mlplat cost`
# counts the load balancer where it is owned (cost_model/estimate.py).
LOAD_BALANCER_LABEL = "mlplat.io/load-balancer"
LOAD_BALANCER_OWNS = "owns"
LOAD_BALANCER_JOINS = "joins"
