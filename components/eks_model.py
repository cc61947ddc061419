"""A model served on EKS: Deployment, Service, HPA, PodDisruptionBudget and an IRSA service account.

The pod specification is a pure function of the declaration (``pod_spec``) so its rules are
testable without the engine:
- requests and limits from ``resources`` (memory limit = request: no overcommit of model memory;
  ``nvidia.com/gpu`` requested and limited for GPU models, which also tolerate the GPU taint);
- only models that ``accepts_spot`` tolerate the spot taint, and they prefer spot nodes;
- replicas spread over zones; readiness and liveness on the SageMaker-style ``/ping``;
- the Pod Security "restricted" profile: non-root as UID/GID 10001 (above the accounts images
  and nodes define: the scikit-learn image's Ubuntu has ``ubuntu`` at 1000), no privilege
  escalation, no capabilities, RuntimeDefault seccomp, read-only root filesystem; every path the
  server writes or must find is an emptyDir (``SKLEARN_SERVER_PATHS``); no Kubernetes API token
  (the server never calls the API; IRSA's token is the webhook's own projected volume); images
  pulled ``Always`` unless pinned by digest (AWS rebuilds its framework image tags in place);
- scikit-learn models are served by the image's own WSGI app under gunicorn, started directly
  (``sklearn_server_command``): the image's ``serve`` would write ``/etc/sagemaker-nginx.conf``
  and ``pip install`` the handler into the read-only system site-packages at every start;
  gunicorn sends its request timings and status counts over statsD to a ``statsd_exporter``
  sidecar (``lifecycle.monitoring.statsd_mapping``), which the managed scraper reads;
- the model's archive (the same reproducible MLflow package multi-model endpoints load) is
  published under ``s3://<bucket>/teams/<team>/<model>/``; one init container fetches it with the
  service account's role, which may read that prefix and nothing else, and a second one unpacks
  it with the serving image's own ``tar`` (the AWS CLI image has none) into the model directory.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.base import PlatformComponent
from components.cluster import GPU_TAINT, SPOT_TAINT, EksCluster
from components.iam_documents import Statement, render_output
from components.registry_records import RegistryTable, record_version, registry_item
from components.registry_route import eks_route
from components.serving.artifacts import publish_archive
from components.serving.draining import PRE_STOP_SECONDS, TERMINATION_GRACE_SECONDS
from components.serving.events_gateway import (
    MODEL_PORT_NAME,
    EventsTarget,
    gateway_container,
    pod_labels,
)
from components.streaming import producer_statements
from infra.catalog import serving_image
from infra.declarations import ModelDeclaration
from infra.declarations.pod_requests import (
    INIT_CONTAINER,
    ROLLOUT_SURGE_PODS,
    is_sklearn_served,
)
from infra.declarations.tags import Ownership
from lifecycle.monitoring import statsd_mapping
from model_packages.packaging import Package

PORT = 8080
READINESS_PATH = "/ping"  # the SageMaker container contract; the ALB health check uses it too
MODEL_DIR = "/opt/ml/model"
CODE_DIR = "/opt/ml/code"  # sagemaker_containers' code directory (SAGEMAKER_BASE_DIR/code)
TMP_DIR = "/tmp"
ARCHIVE_DIR = "/opt/ml/archive"
ARCHIVE_FILE = f"{ARCHIVE_DIR}/model.tar.gz"
RUN_AS = 10001
ARTIFACT_COPIER_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.50"
ZONE_KEY = "topology.kubernetes.io/zone"


def artifact_prefix(model: ModelDeclaration) -> str:
    """Where the model's files live in the artifacts bucket (the serving packager's layout)."""
    return f"teams/{model.team}/{model.name}/"


def model_image(model: ModelDeclaration, region: str) -> str:
    return model.image or serving_image(
        model.framework, model.framework_version, region, model.effective_instance_type
    )


def selector_labels(model: ModelDeclaration) -> dict[str, str]:
    return {"app.kubernetes.io/name": model.name, "mlplat.io/team": model.team}


def resource_requirements(model: ModelDeclaration) -> dict[str, dict[str, str]]:
    requests = {"cpu": str(model.resources.cpu), "memory": f"{model.resources.memory_mb}Mi"}
    if model.uses_gpu:
        requests["nvidia.com/gpu"] = str(model.resources.gpus)
    return {"requests": requests, "limits": dict(requests)}


def tolerations(model: ModelDeclaration) -> list[dict[str, str]]:
    chosen = []
    if model.uses_gpu:
        chosen.append(GPU_TAINT.toleration())
    if model.accepts_spot:
        chosen.append(SPOT_TAINT.toleration())
    return chosen


# Where the SageMaker scikit-learn image's server writes, or needs a directory, when it starts as
# started here; each is an emptyDir (aws/sagemaker-containers src/sagemaker_containers/):
SKLEARN_SERVER_PATHS = {
    # _env.py creates SAGEMAKER_BASE_DIR/code with os.makedirs on import when it is missing; here
    # it holds the archive's code/ (inference.py), which serving.py imports from the python path.
    CODE_DIR: "sagemaker_containers._env: os.makedirs(code_dir) at import",
    MODEL_DIR: "SM_MODEL_DIR: model_fn(model_dir) reads the unpacked archive",
    # gunicorn's worker heartbeat files (tempfile; the image sets TEMP to a directory of its
    # model-server user, so TMPDIR, which tempfile prefers, points here).
    TMP_DIR: "gunicorn workers' heartbeat files (tempfile, TMPDIR)",
}


def sklearn_server_command(model: ModelDeclaration) -> list[str]:
    """What the image's ``serve`` runs (_server.start), without its two writes to the root fs:
    the nginx config in /etc (nginx is optional, SAGEMAKER_USE_NGINX) and ``pip install .`` of
    the handler (skipped when SAGEMAKER_PROGRAM is importable, serving.import_module)."""
    workers = max(1, int(model.resources.cpu))  # gunicorn would count the node's CPUs
    return [
        *("gunicorn", "--timeout", "60", "-k", "gevent", "--worker-tmp-dir", TMP_DIR),
        *("--pythonpath", CODE_DIR, "-b", f"0.0.0.0:{PORT}", "-w", str(workers)),
        *("--worker-connections", str(1000 * workers), "--log-level", "info"),
        # Request latency and status counters over statsD to the metrics sidecar.
        *statsd_mapping.gunicorn_statsd_args(),
        "sagemaker_sklearn_container.serving:main",
    ]


def serving_environment(model: ModelDeclaration) -> list[dict[str, str]]:
    """What the SageMaker framework container needs to serve the archive's model on its own."""
    env = [
        {"name": "MLPLAT_MODEL", "value": model.name},
        {"name": "MLPLAT_MODEL_VERSION", "value": str(model.version)},
        {"name": "TMPDIR", "value": TMP_DIR},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},  # the code directory is read-only
    ]
    if is_sklearn_served(model):
        # The archive carries code/inference.py (model_packages/handlers/sklearn_inference.py);
        # serving.py imports it from gunicorn's python path (only _server.start pip-installs).
        env += [
            {"name": "SAGEMAKER_PROGRAM", "value": "inference.py"},
            {"name": "SAGEMAKER_SUBMIT_DIRECTORY", "value": CODE_DIR},
        ]
    return env


def pull_policy(image: str) -> str:
    """``Always`` for a tag (AWS rebuilds its framework image tags in place with patches, and a
    node's cached copy would serve the old build); a digest cannot change."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def server_container(
    model: ModelDeclaration, image: str, security: dict, port_name: str = "http"
) -> dict[str, Any]:
    """``port_name``: ``http`` (the Service's), or another when the events gateway owns it."""
    probe = {
        "httpGet": {"path": READINESS_PATH, "port": port_name},
        "periodSeconds": 10,
        "timeoutSeconds": 2,
    }
    mounts = [
        {"name": "model", "mountPath": MODEL_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": TMP_DIR},
    ]
    start: dict[str, Any] = {"args": ["serve"]}
    if is_sklearn_served(model):
        mounts.append({"name": "model", "mountPath": CODE_DIR, "subPath": "code", "readOnly": True})
        start = {"command": sklearn_server_command(model)}
    return {
        "name": "model",
        "image": image,
        "imagePullPolicy": pull_policy(image),
        **start,
        "ports": [{"name": port_name, "containerPort": PORT, "protocol": "TCP"}],
        "env": serving_environment(model),
        "resources": resource_requirements(model),
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "initialDelaySeconds": 60, "failureThreshold": 6},
        "securityContext": security,
        "volumeMounts": mounts,
        # Serve on until the load balancer has deregistered the pod (components/serving/draining).
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
    }


def pod_spec(
    model: ModelDeclaration,
    *,
    image: str,
    service_account: str,
    archive_uri: str,
    events: EventsTarget | None = None,
) -> dict[str, Any]:
    """``archive_uri``: the S3 URI of the model's ``.tar.gz`` package; ``events``: where the
    events gateway publishes (brokers resolved), when the model publishes events."""
    # Requests as validation counts them (infra/declarations/pod_requests.py).
    init_resources = {
        "requests": INIT_CONTAINER.as_kubernetes(),
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    container_security = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    spec: dict[str, Any] = {
        "serviceAccountName": service_account,
        # IRSA does not need it: the EKS pod identity webhook adds its own projected token volume
        # (aws/amazon-eks-pod-identity-webhook pkg/handler/handler.go), whatever this says.
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [
            {
                "name": "fetch-model",
                "image": ARTIFACT_COPIER_IMAGE,
                "imagePullPolicy": pull_policy(ARTIFACT_COPIER_IMAGE),
                "args": ["s3", "cp", "--only-show-errors", archive_uri, ARCHIVE_FILE],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "resources": init_resources,
                "securityContext": container_security,
                "volumeMounts": [
                    {"name": "archive", "mountPath": ARCHIVE_DIR},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            },
            {
                "name": "unpack-model",
                "image": image,
                "imagePullPolicy": pull_policy(image),
                "command": ["tar", "-xzf", ARCHIVE_FILE, "-C", MODEL_DIR],
                "resources": init_resources,
                "securityContext": container_security,
                "volumeMounts": [
                    {"name": "archive", "mountPath": ARCHIVE_DIR, "readOnly": True},
                    {"name": "model", "mountPath": MODEL_DIR},
                ],
            },
        ],
        "containers": [
            server_container(
                model, image, container_security, MODEL_PORT_NAME if events else "http"
            )
        ],
        "volumes": [
            {"name": "archive", "emptyDir": {}},
            {"name": "model", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": ZONE_KEY,
                # ScheduleAnyway: a zone without capacity must not stop scaling out.
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector_labels(model)},
            }
        ],
    }
    if is_sklearn_served(model):
        # gunicorn's statsD lines become the serving metrics (lifecycle.monitoring.metrics).
        sidecar = statsd_mapping.exporter_container(container_security)
        sidecar["imagePullPolicy"] = pull_policy(sidecar["image"])
        spec["containers"].append(sidecar)
        spec["volumes"].append(statsd_mapping.mapping_volume())
    if events is not None:
        # The gateway owns the Service's "http" port (components/serving/events_gateway.py).
        gateway = gateway_container(
            model.name, model.version, events, model_port=PORT, security=container_security
        )
        gateway["imagePullPolicy"] = pull_policy(gateway["image"])
        spec["containers"].append(gateway)
    if tolerations(model):
        spec["tolerations"] = tolerations(model)
    if model.accepts_spot:
        spec["affinity"] = {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "preference": {
                            "matchExpressions": [
                                {"key": "mlplat.io/capacity", "operator": "In", "values": ["spot"]}
                            ]
                        },
                    }
                ]
            }
        }
    return spec


def artifact_statements(
    bucket_arn: str, kms_key_arn: str, model: ModelDeclaration
) -> list[Statement]:
    prefix = artifact_prefix(model)
    return [
        Statement("ReadModelArtifacts", ("s3:GetObject",), (f"{bucket_arn}/{prefix}*",)),
        Statement(
            "ListModelArtifacts",
            ("s3:ListBucket",),
            (bucket_arn,),
            conditions={"StringLike": {"s3:prefix": (prefix, f"{prefix}*")}},
        ),
        Statement("DecryptArtifacts", ("kms:Decrypt",), (kms_key_arn,)),
    ]


class EksModel(PlatformComponent):
    TYPE = "mlplat:eks_model:EksModel"

    def __init__(
        self,
        name: str,
        *,
        model: ModelDeclaration,
        package: Package,
        namespace: pulumi.Input[str],
        cluster: EksCluster,
        artifacts_bucket: pulumi.Input[str],
        artifacts_bucket_arn: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str],
        region: str,
        registry: RegistryTable | None = None,
        environment: str = "",
        permissions_boundary: pulumi.Input[str] | None = None,
        events: EventsTarget | None = None,
        opts=None,
    ) -> None:
        """``namespace``: the team's namespace (an output, so objects wait for it); ``registry``:
        where the version record (with the Service route, ``self.route``) is written;
        ``permissions_boundary``: the team's, on its role, in a serving stack; ``events``: where
        its events gateway publishes, when the model publishes events (the role may then write
        to that topic, and to no other: in its one inline policy, no resource of its own)."""
        super().__init__(name, owner=Ownership(team=model.team, model=model.name), opts=opts)
        self._provider = cluster.provider
        labels = {
            **selector_labels(model),
            "mlplat.io/model": model.name,
            "app.kubernetes.io/version": str(model.version),
        }

        def meta(**extra) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(
                name=model.name, namespace=namespace, labels=labels, **extra
            )

        self.role = aws.iam.Role(
            f"{name}-irsa",
            assume_role_policy=cluster.service_account_trust(model.team, model.name),
            permissions_boundary=permissions_boundary,
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-artifacts",
            role=self.role.id,
            policy=render_output(
                lambda bucket_arn, key_arn, cluster_arn: [
                    *artifact_statements(bucket_arn, key_arn, model),
                    *(producer_statements(cluster_arn, events.topic) if events else ()),
                ],
                artifacts_bucket_arn,
                kms_key_arn,
                events.cluster_arn if events else "",
            ),
            opts=self.child_opts(),
        )
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=meta(annotations={"eks.amazonaws.com/role-arn": self.role.arn}),
            opts=self._opts(),
        )
        archive_key = f"{artifact_prefix(model)}{package.archive_name}"
        self.artifact_key = archive_key  # what batch jobs score with (components/batch.py)
        self.artifact = publish_archive(
            f"{name}-artifact",
            package=package,
            bucket=artifacts_bucket,
            key=archive_key,
            kms_key_arn=kms_key_arn,
            opts=self.child_opts(),
        )
        archive_uri = pulumi.Output.concat("s3://", self.artifact.bucket, "/", archive_key)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(),
            # No "replicas": the HorizontalPodAutoscaler owns the count. With server-side apply,
            # a replicas field here (even with ignoreChanges) would make Pulumi a co-owner that
            # fights the HPA on every update; the HPA raises the first pod to minReplicas.
            spec={
                "selector": {"matchLabels": selector_labels(model)},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": ROLLOUT_SURGE_PODS},
                },
                "template": {
                    "metadata": {
                        "labels": {**labels, **pod_labels(events)},
                        "annotations": {"mlplat.io/sha256": package.sha256},
                    },
                    "spec": pulumi.Output.all(
                        archive_uri, events.bootstrap_brokers if events else ""
                    ).apply(
                        lambda values: pod_spec(
                            model,
                            image=model_image(model, region),
                            service_account=model.name,
                            archive_uri=values[0],
                            events=replace(events, bootstrap_brokers=values[1]) if events else None,
                        )
                    ),
                },
            },
            opts=self._opts(depends_on=[self.service_account]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(),
            spec={
                "type": "ClusterIP",
                "selector": selector_labels(model),
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=self._opts(),
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=meta(),
            spec={
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": model.name,
                },
                "minReplicas": model.scaling.min_instances,
                "maxReplicas": model.scaling.max_instances,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": model.scaling.target_cpu_percent,
                            },
                        },
                    }
                ],
            },
            opts=self._opts(depends_on=[self.deployment]),
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(model)}},
            opts=self._opts(),
        )
        self.declaration = model
        self.route = pulumi.Output.from_input(namespace).apply(lambda ns: eks_route(model.name, ns))
        if registry is not None:
            item = self.route.apply(
                lambda route: registry_item(
                    model,
                    package,
                    environment=environment,
                    image=model_image(model, region),
                    artifact_key=archive_key,
                    route=route,
                    table=registry,
                )
            )
            record_version(
                f"{name}-registry", registry, item, self.child_opts(depends_on=[self.artifact])
            )
        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "service": model.name,
                "model": model.name,
                "team": model.team,
                # Read by the cost check (cost_model/budgets.py): the model's declared budget.
                "monthlyBudgetUsd": float(model.monthly_budget_usd),
                # Read by mlplat cost (cost_model/events.py): the events it declares publishing.
                "predictionEvents": {
                    "topic": events.topic,
                    "monthlyEvents": model.events.monthly_events,
                    "eventBytes": model.events.event_bytes,
                }
                if events and model.events
                else None,
            }
        )

    def _opts(self, **options) -> pulumi.ResourceOptions:
        return self.child_opts(provider=self._provider, **options)
