"""How a caller reaches a model version: the route fields of the model registry's records.

Pulumi-free on purpose: the runtime client (``mlplat.client``) reads the same vocabulary the
components write, without importing the Pulumi SDK.

Registry items (table keys ``modelKey`` S = ``<team>/<model>``, ``version`` N):
- one *version record* per model version (``version`` >= 1): the version's artifact and its
  route when it was deployed; retained as history when the version is replaced;
- one *served record* per model at ``version`` = ``SERVED_VERSION`` (0; declarations start at 1):
  the version served now and its route. It has one stable resource per model, so a version bump
  or a move between backends updates it in place, and removing the model deletes it. Callers
  resolve this record, which is why moving a model does not change their code.

Routes: ``sagemaker-mme`` (``endpoint`` + ``targetModel``, the archive name) or ``eks``
(``serviceUrl``, the in-cluster Service, and ``loadBalancerUrl``: the team's load balancer URL
plus the model's path, ``<base>/<model>/v<version>/invocations``, which a client prefers; the
load balancer rewrites the path to the container's ``/invocations``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

REGISTRY_HASH_KEY = "modelKey"
REGISTRY_RANGE_KEY = "version"
SERVED_VERSION = 0  # the range key of a model's served record; declared versions are >= 1
INVOCATIONS_PATH = "/invocations"  # the SageMaker container contract, served on EKS as well


def model_key(team: str, model: str) -> str:
    """A model's partition key in both tables: ``<team>/<model>``, the team first."""
    # Team names are DNS labels; a "/" in one would let "<team>/*" reach another team's keys.
    if not team or "/" in team:
        raise ValueError(f"team must be a non-empty name without '/', got {team!r}")
    return f"{team}/{model}"


class Backend(StrEnum):
    SAGEMAKER_MME = "sagemaker-mme"
    EKS = "eks"


class MalformedRoute(ValueError):
    """A registry record whose route fields do not describe a reachable backend."""


@dataclass(frozen=True)
class Route:
    backend: Backend
    endpoint: str | None = None  # sagemaker-mme: the endpoint name
    target_model: str | None = None  # sagemaker-mme: the archive name passed as TargetModel
    service_url: str | None = None  # eks: the in-cluster Service URL of /invocations
    load_balancer_url: str | None = None  # eks: the load balancer's URL of the model's path

    def attributes(self) -> dict[str, str | None]:
        return {
            "backend": self.backend.value,
            "endpoint": self.endpoint,
            "targetModel": self.target_model,
            "serviceUrl": self.service_url,
            "loadBalancerUrl": self.load_balancer_url,
        }

    @classmethod
    def from_attributes(cls, item: Mapping) -> Route:
        """The route of a registry item read with boto3's deserializer (plain values)."""
        try:
            backend = Backend(item.get("backend"))
        except ValueError:
            raise MalformedRoute(f"unknown backend {item.get('backend')!r}") from None
        route = cls(
            backend=backend,
            endpoint=item.get("endpoint"),
            target_model=item.get("targetModel"),
            service_url=item.get("serviceUrl"),
            load_balancer_url=item.get("loadBalancerUrl"),
        )
        needed = ("endpoint", "target_model") if backend is Backend.SAGEMAKER_MME else ()
        missing = [name for name in needed if not getattr(route, name)]
        if backend is Backend.EKS and not (route.service_url or route.load_balancer_url):
            missing.append("service_url or load_balancer_url")
        if missing:
            raise MalformedRoute(f"{backend.value} route without {', '.join(missing)}")
        return route


def mme_route(endpoint: str, target_model: str) -> Route:
    return Route(Backend.SAGEMAKER_MME, endpoint=endpoint, target_model=target_model)


def eks_route(service: str, namespace: str) -> Route:
    """The Service's cluster DNS name (port 80, as ``eks_model`` declares it) + invocations."""
    url = f"http://{service}.{namespace}.svc.cluster.local{INVOCATIONS_PATH}"
    return Route(Backend.EKS, service_url=url)


def model_path(model: str, version: int) -> str:
    """The model version's path on its team's load balancer (one listener rule per path)."""
    return f"/{model}/v{version}{INVOCATIONS_PATH}"


def load_balanced(route: Route, base_url: str, model: str, version: int) -> Route:
    """``route`` (the in-cluster one) reachable also through the load balancer at ``base_url``
    (``https://<name>`` or, without TLS, ``http://<load balancer DNS name>``)."""
    if route.backend is not Backend.EKS:
        raise ValueError(f"only EKS routes go through a load balancer, not {route.backend.value}")
    return Route(
        Backend.EKS,
        service_url=route.service_url,
        load_balancer_url=f"{base_url.rstrip('/')}{model_path(model, version)}",
    )


def dynamodb_json(fields: Mapping[str, str | int | None]) -> dict:
    """Plain values in DynamoDB's attribute-value JSON (what ``aws.dynamodb.TableItem`` takes)."""
    out: dict[str, dict] = {}
    for name, value in fields.items():
        if value is None:
            out[name] = {"NULL": True}
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"{name}: {value!r} is not a string, integer or None")
        else:
            out[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}
    return out


def served_fields(team: str, model: str, version: int, route: Route) -> dict:
    """The served record of a model: which version callers reach, and how."""
    return {
        REGISTRY_HASH_KEY: model_key(team, model),
        REGISTRY_RANGE_KEY: SERVED_VERSION,
        "model": model,
        "team": team,
        "servedVersion": version,
        **route.attributes(),
    }
