"""Models served on EKS: their objects in the export, and the pod rules on declared models."""

from __future__ import annotations

import json

import pytest

from components.cluster import GPU_TAINT, SPOT_TAINT
from components.eks_model import artifact_prefix, pod_spec
from infra.declarations import ModelDeclaration
from infra.declarations.pod_requests import pod_requests
from tests.foundation.test_pod_requests import effective_requests

GPU_MODEL = ModelDeclaration(
    name="image-tagger",
    version=1,
    team="growth",
    framework="pytorch",
    framework_version="2.1",
    artifact="models:/image-tagger/1",
    serving="eks",
    resources={"memory_mb": 8192, "gpus": 1, "cpu": "2"},
    scaling={"min_instances": 1, "max_instances": 3},
    monthly_budget_usd=900,
)
CPU_MODEL = GPU_MODEL.model_copy(
    update={
        "name": "text-scorer",
        "resources": GPU_MODEL.resources.model_copy(update={"gpus": 0, "memory_mb": 1024}),
    }
)
SPOT_MODEL = CPU_MODEL.model_copy(update={"name": "batch-ranker", "accepts_spot": True})


def spec_of(model):
    return pod_spec(
        model, image="img", service_account=model.name, archive_uri="s3://b/teams/t/m/m-v1.tar.gz"
    )


def tolerated_keys(spec) -> set[str]:
    return {t["key"] for t in spec.get("tolerations", [])}


def test_gpu_model_requests_gpus_and_tolerates_only_the_gpu_taint():
    spec = spec_of(GPU_MODEL)
    resources = spec["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert spec["tolerations"] == [GPU_TAINT.toleration()]
    assert SPOT_TAINT.key not in tolerated_keys(spec)


def test_cpu_model_tolerates_no_taint_and_requests_no_gpu():
    spec = spec_of(CPU_MODEL)
    assert "tolerations" not in spec and "affinity" not in spec
    assert "nvidia.com/gpu" not in spec["containers"][0]["resources"]["requests"]
    assert spec["containers"][0]["resources"]["limits"]["memory"] == "1024Mi"


def test_spot_model_tolerates_spot_and_prefers_it():
    spec = spec_of(SPOT_MODEL)
    assert spec["tolerations"] == [SPOT_TAINT.toleration()]
    preferred = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["preference"]["matchExpressions"][0]["key"] == "mlplat.io/capacity"


def test_pods_are_hardened_and_spread_over_zones():
    spec = spec_of(CPU_MODEL)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] >= 10000  # not an account of the image or node
    assert spec["securityContext"]["runAsGroup"] >= 10000
    assert spec["automountServiceAccountToken"] is False  # the server never calls the API
    for container in spec["containers"] + spec["initContainers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["imagePullPolicy"] == "Always"  # tags, which AWS rebuilds in place
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    main = spec["containers"][0]
    assert main["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert main["livenessProbe"]["httpGet"]["path"] == "/ping"


def eks_models(plan):
    return plan.spec.models_served_by("eks")


@pytest.mark.slow
def test_each_eks_model_has_its_objects(plan):
    assert eks_models(plan), "every stack serves at least one model on EKS"
    for model in eks_models(plan):
        for kind in (
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ServiceAccount",
        ):
            found = [
                o
                for o in plan.kube(kind, model.team)
                if o["inputs"]["metadata"]["name"] == model.name
            ]
            assert len(found) == 1, (model.name, kind)
        (hpa,) = [
            o
            for o in plan.kube("HorizontalPodAutoscaler", model.team)
            if o["inputs"]["metadata"]["name"] == model.name
        ]
        assert hpa["inputs"]["apiVersion"] == "autoscaling/v2"
        assert hpa["inputs"]["spec"]["minReplicas"] == model.scaling.min_instances
        assert hpa["inputs"]["spec"]["maxReplicas"] == model.scaling.max_instances
        (deployment,) = [
            o
            for o in plan.kube("Deployment", model.team)
            if o["inputs"]["metadata"]["name"] == model.name
        ]
        # The HPA alone owns the replica count (server-side apply would otherwise share it).
        assert "replicas" not in deployment["inputs"]["spec"]
        requests = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["resources"][
            "requests"
        ]
        assert requests["memory"] == f"{model.resources.memory_mb}Mi"


@pytest.mark.slow
def test_gpu_and_spot_rules_hold_for_every_workload(plan):
    models = {m.name: m for m in plan.spec.models}
    for deployment in plan.workloads:
        model = models[deployment["inputs"]["metadata"]["name"]]
        spec = deployment["inputs"]["spec"]["template"]["spec"]
        keys = tolerated_keys(spec)
        requests_gpu = any(
            "nvidia.com/gpu" in c["resources"].get("requests", {}) for c in spec["containers"]
        )
        assert requests_gpu == model.uses_gpu
        assert (GPU_TAINT.key in keys) == requests_gpu
        assert (SPOT_TAINT.key in keys) == model.accepts_spot


@pytest.mark.slow
def test_service_account_role_reads_only_the_models_prefix(plan):
    bucket = plan.named("aws:s3/bucket:Bucket", f"mlplat-{plan.stack}-artifacts-bucket")
    for model in eks_models(plan):
        (account,) = [
            o
            for o in plan.kube("ServiceAccount", model.team)
            if o["inputs"]["metadata"]["name"] == model.name
        ]
        role = plan.named("aws:iam/role:Role", f"mlplat-{plan.stack}-{model.name}-irsa")
        assert (
            account["inputs"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            == role["outputs"]["arn"]
        )
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        subjects = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert subjects == [f"system:serviceaccount:{model.team}:{model.name}"]
        policy = plan.named(
            "aws:iam/rolePolicy:RolePolicy", f"mlplat-{plan.stack}-{model.name}-artifacts"
        )
        statements = {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}
        read = statements["ReadModelArtifacts"]
        assert read["Action"] == "s3:GetObject"
        assert read["Resource"] == f"{bucket['outputs']['arn']}/{artifact_prefix(model)}*"
        assert read["Resource"].startswith("arn:aws:s3:::")
        for statement in statements.values():
            assert statement["Resource"] != "*"


@pytest.mark.slow
def test_each_eks_model_fetches_and_unpacks_its_published_archive(plan):
    bucket = plan.named("aws:s3/bucket:Bucket", f"mlplat-{plan.stack}-artifacts-bucket")
    for model in eks_models(plan):
        archive = plan.named(
            "aws:s3/bucketObjectv2:BucketObjectv2", f"mlplat-{plan.stack}-{model.name}-artifact"
        )
        key = archive["inputs"]["key"]
        assert key == f"{artifact_prefix(model)}{model.name}-v{model.version}.tar.gz"
        assert archive["inputs"]["source"]["hash"] == archive["inputs"]["metadata"]["sha256"]
        assert archive["inputs"]["tags"]["mlplat:model"] == model.name
        (deployment,) = [
            o
            for o in plan.kube("Deployment", model.team)
            if o["inputs"]["metadata"]["name"] == model.name
        ]
        template = deployment["inputs"]["spec"]["template"]
        # A new archive rolls the pods: its digest is part of the pod template.
        assert (
            template["metadata"]["annotations"]["mlplat.io/sha256"]
            == archive["inputs"]["metadata"]["sha256"]
        )
        fetch, unpack = template["spec"]["initContainers"]
        assert f"s3://{bucket['outputs']['bucket']}/{key}" in fetch["args"]
        assert unpack["image"] == template["spec"]["containers"][0]["image"]
        assert unpack["command"][:2] == ["tar", "-xzf"]
        assert unpack["command"][-1] == "/opt/ml/model"


# Where the SageMaker scikit-learn image's server, started as the Deployment starts it, writes or
# needs a directory, with the source that says so. Each must be an emptyDir (the root filesystem
# is read-only and belongs to root); "write" ones must be mounted writable.
SKLEARN_IMAGE_PATHS = {
    "/tmp": (
        "write",
        "gunicorn workers' heartbeat files (--worker-tmp-dir; tempfile under TMPDIR, since the "
        "image's ENV TEMP=/home/model-server/tmp belongs to its model-server user)",
    ),
    "/opt/ml/code": (
        "read",
        "aws/sagemaker-containers src/sagemaker_containers/_env.py: os.makedirs(code_dir) on "
        "import when missing; serving.py imports SAGEMAKER_PROGRAM from it",
    ),
    "/opt/ml/model": (
        "read",
        "SM_MODEL_DIR (the image's Dockerfile); serving.py calls model_fn(model_dir)",
    ),
}
# What the image's own `serve` would write to the root filesystem, avoided by starting gunicorn
# directly (aws/sagemaker-containers src/sagemaker_containers/_server.py): /etc/sagemaker-nginx.conf
# (nginx also writes /var/log/nginx, /var/lib/nginx), and `pip install .` of the handler into the
# system site-packages.
SERVE_WRITES = ("/etc/sagemaker-nginx.conf", "/var/log/nginx", "/var/lib/nginx", "site-packages")


def _deployment(plan, model):
    (deployment,) = [
        o
        for o in plan.kube("Deployment", model.team)
        if o["inputs"]["metadata"]["name"] == model.name
    ]
    return deployment["inputs"]["spec"]["template"]["spec"]


@pytest.mark.slow
def test_sklearn_servers_find_every_path_the_image_writes(plan):
    served = [m for m in eks_models(plan) if m.framework == "sklearn" and not m.image]
    assert served, "the example stacks serve a scikit-learn model on EKS (recs-ranker)"
    for model in served:
        spec = _deployment(plan, model)
        (server,) = [c for c in spec["containers"] if c["name"] == "model"]  # not the sidecar
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m for m in server["volumeMounts"]}
        assert server["securityContext"]["readOnlyRootFilesystem"] is True
        for path, (access, source) in SKLEARN_IMAGE_PATHS.items():
            assert path in mounts, f"{model.name}: nothing mounted at {path} ({source})"
            assert "emptyDir" in volumes[mounts[path]["name"]], (model.name, path)
            if access == "write":
                assert not mounts[path].get("readOnly"), f"{model.name}: {path} is read-only"
        env = {e["name"]: e["value"] for e in server["env"]}
        assert not mounts[env["TMPDIR"]].get("readOnly"), f"{model.name}: TMPDIR not writable"
        # The server is the image's WSGI app under gunicorn, not `serve` (SERVE_WRITES).
        command = server.get("command", []) + server.get("args", [])
        assert command[0] == "gunicorn" and "serve" not in command, (model.name, command)
        assert command[-1] == "sagemaker_sklearn_container.serving:main"
        assert command[command.index("--pythonpath") + 1] == env["SAGEMAKER_SUBMIT_DIRECTORY"]
        assert not any(written in " ".join(command) for written in SERVE_WRITES)


@pytest.mark.slow
def test_sklearn_server_code_directory_holds_the_archives_handler(plan):
    """/opt/ml/code is the archive's code/ (a subPath of the unpacked model directory), where
    SAGEMAKER_PROGRAM is: the handler packaging puts in every scikit-learn archive."""
    from model_packages.runtimes import SKLEARN_PROGRAM

    for model in (m for m in eks_models(plan) if m.framework == "sklearn" and not m.image):
        spec = _deployment(plan, model)
        (server,) = [c for c in spec["containers"] if c["name"] == "model"]  # not the sidecar
        env = {e["name"]: e["value"] for e in server["env"]}
        code = next(m for m in server["volumeMounts"] if m["mountPath"] == "/opt/ml/code")
        model_dir = next(m for m in server["volumeMounts"] if m["mountPath"] == "/opt/ml/model")
        assert code["name"] == model_dir["name"]
        assert f"{code['subPath']}/{env['SAGEMAKER_PROGRAM']}" == SKLEARN_PROGRAM


@pytest.mark.slow
def test_every_workload_passes_the_pod_rules(plan):
    """Pod Security "restricted", UID/GID >= 10000, explicit pull policy, no API token: the
    findings a manifest scanner (checkov CKV_K8S_15/38/40) reports, as the pack's rules."""
    from mlplat.policy_check import check
    from policies.registry import policy_named

    rules = [
        policy_named(name)
        for name in (
            "k8s-pod-security-restricted",
            "k8s-high-uid",
            "k8s-explicit-image-pull-policy",
            "k8s-no-service-account-token",
            "k8s-no-privileged-containers",
        )
    ]
    document = {"version": 3, "deployment": {"resources": plan.resources}}
    violations = check(document, policies=rules)
    assert plan.workloads
    assert [f"{v.policy}: {v.message}" for v in violations] == []


def test_every_shipped_eks_model_is_counted_as_its_pod_requests(plan):
    """Validation's quota and node checks count what each Deployment a shipped stack renders
    requests (the server's, the sidecars', the init containers'), whatever models are declared."""
    models = {model.name: model for model in plan.spec.models}
    kafka = plan.spec.settings.streaming.enabled
    teams = {team.name for team in plan.spec.teams}
    templates = [
        d["inputs"]["spec"]["template"]
        for d in plan.kube("Deployment")
        if d["inputs"]["metadata"]["namespace"] in teams
    ]
    assert len(templates) == sum(m.serving == "eks" for m in plan.spec.models)
    for template in templates:
        model = models[template["metadata"]["labels"]["app.kubernetes.io/name"]]
        counted = pod_requests(model, kafka)
        assert (counted.cpu, counted.memory_mb) == effective_requests(template["spec"]), model.name
