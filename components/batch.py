"""A team's batch scoring on EMR on EKS (serving layer): its virtual cluster, and per job a role,
a schedule and/or a template.

Per team with jobs (the namespace and EMR's cluster access are the platform's,
``components/batch_tenancy.py``): the virtual cluster on ``<team>-batch``, a log group, the pod
templates that put drivers on on-demand nodes and executors on spot ones, the schedule group and
the role Scheduler starts jobs as, and an alarm on failed runs to the alert topic.

Per job: an execution role that reads only the job's input prefix and the model's own archive
and writes only its output prefix (plus the Spark fallback prefix and the team's log group),
trusted through IRSA by the service accounts EMR on EKS creates for it in that namespace only;
a schedule (EventBridge Scheduler's universal target ``aws-sdk:emrcontainers:startJobRun``) when
the job has one; a job template when it runs on demand (``aws emr-containers start-job-run
--virtual-cluster-id V --job-template-id T``).

Why Scheduler and not Step Functions: a failed run is retried by EMR itself
(``RetryPolicyConfiguration.MaxAttempts``: the same request, so the same run id, which the job
makes idempotent), and the failure notice is an alarm on EMR's own "EMR Job Run State Change"
events; the only other step a state machine would add is waiting for the run, which nothing
here needs. Scheduler's own retry covers the StartJobRun call (throttling), with the same
ClientToken (the schedule's execution id), which StartJobRun dedupes.

Resources: 6 per team with jobs (+3 when any job has a schedule: the group, Scheduler's role and
its policy) and 2 per job, +1 with a schedule, +1 on demand: at most 4 per job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import yaml

from components.base import PlatformComponent
from components.batch_tenancy import batch_namespace
from components.cluster import SPOT_TAINT
from components.iam_documents import Principal, Statement, assume_role, render, render_output
from components.pipeline_permissions import batch_names, scheduler_role_name
from components.streaming import EVENTS_PREFIX
from infra.declarations import ModelDeclaration
from infra.declarations.batch import MEMORY_OVERHEAD_FACTOR, BatchJob
from infra.declarations.s3 import S3_PREFIX
from infra.declarations.tags import Ownership
from lifecycle.batch.score import RECOMMENDED_CONF

# Spark 3.5 (EMR 7.2); the scoring image is built from its base image (lifecycle/batch/Dockerfile).
RELEASE_LABEL = "emr-7.2.0-latest"
SCORING_IMAGE_REPOSITORY = "mlplat-spark-scoring"
SCORING_IMAGE_TAG = "emr-7.2.0"
# score.py is self-contained: spark-submit runs it from the image.
ENTRY_POINT = "local:///opt/mlplat/lifecycle/batch/score.py"
# EMR retries a failed run (driver failure) this many times in all, with the same arguments.
MAX_ATTEMPTS = 2
LOG_RETENTION_DAYS = 30
# Universal targets: arn:aws:scheduler:::aws-sdk:<service>:<apiAction> (Scheduler User Guide,
# "Using universal targets"); the input is the API's request in its own (PascalCase) members.
START_JOB_RUN_TARGET = "arn:aws:scheduler:::aws-sdk:emrcontainers:startJobRun"
# Context attributes Scheduler substitutes in a universal target's input.
EXECUTION_ID = "<aws.scheduler.execution-id>"


def base36(text: str) -> str:
    """The role-name encoding EMR on EKS puts in its service-account names (the AWS CLI's
    ``update-role-trust-policy``: awscli/customizations/emrcontainers/base36.py)."""
    number = 0
    for char in text:
        number = number * 256 + ord(char)
    digits = ""
    while number:
        number, index = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[index] + digits
    return digits or "0"


def run_name(model: str, job: str) -> str:
    """A job's schedule (in its team's group), template and runs: within the 64 characters
    Scheduler and EMR allow, as a model name has at most 48 and a job name 15."""
    return f"{model}-{job}"


def batch_log_group(environment: str, team: str) -> str:
    return f"/mlplat/{environment}/batch/{team}"


def job_role_name(environment: str, team: str, model: str, job: str) -> str:
    """``mlplat-<env>-<team>-batch-<hash>``: within IAM's 64 characters for any team and model,
    under the team's name prefix (which the team's deployer may manage)."""
    digest = hashlib.sha256(f"{model}/{job}".encode()).hexdigest()[:8]
    return f"mlplat-{environment}-{team}-batch-{digest}"


def job_trust(provider_arn: str, issuer: str, namespace: str, account: str, role_name: str) -> str:
    """The documented trust of a job execution role (EMR on EKS Development Guide,
    iam-execution-role.html; the CLI's update-role-trust-policy): EMR's service accounts
    ``emr-containers-sa-*-*-<account>-<base36(role name)>`` in that namespace only."""
    subject = (
        f"system:serviceaccount:{namespace}:emr-containers-sa-*-*-{account}-{base36(role_name)}"
    )
    return render(
        [
            Statement(
                "EmrServiceAccounts",
                ("sts:AssumeRoleWithWebIdentity",),
                principal=Principal.federated(provider_arn),
                conditions={
                    "StringLike": {f"{issuer}:sub": subject},
                    "StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"},
                },
            )
        ]
    )


@dataclass(frozen=True)
class JobPaths:
    """Where one job reads and writes, as plain strings (bucket names resolved)."""

    input_uri: str  # s3://bucket/prefix/
    output_uri: str
    archive_uri: str  # s3://artifacts/<key>
    fallback_uri: str  # Spark's decommission fallback storage
    templates_uri: str  # the team's pod templates prefix


def _bucket_and_key(uri: str) -> tuple[str, str]:
    match = S3_PREFIX.match(uri) or S3_PREFIX.match(uri.rsplit("/", 1)[0] + "/")
    if match is None:
        raise ValueError(f"not an S3 URI: {uri}")
    bucket = match["bucket"]
    return bucket, uri.removeprefix(f"s3://{bucket}/")


def job_role_statements(
    paths: JobPaths, *, kms_key_arn: str, log_group_arn: str
) -> list[Statement]:
    """Read the input and the archive, write the output: nothing else of any bucket."""
    in_bucket, in_prefix = _bucket_and_key(paths.input_uri)
    out_bucket, out_prefix = _bucket_and_key(paths.output_uri)
    archive_bucket, archive_key = _bucket_and_key(paths.archive_uri)
    _, fallback = _bucket_and_key(paths.fallback_uri)
    _, templates = _bucket_and_key(paths.templates_uri)
    listed: dict[str, list[str]] = {}
    for bucket, prefix in ((in_bucket, in_prefix), (out_bucket, out_prefix)):
        listed.setdefault(bucket, []).append(f"{prefix}*")
    listed.setdefault(archive_bucket, []).append(f"{fallback}*")
    return [
        Statement(
            "ReadModelAndTemplates",
            ("s3:GetObject",),
            (
                f"arn:aws:s3:::{archive_bucket}/{archive_key}",
                f"arn:aws:s3:::{archive_bucket}/{templates}*",
            ),
        ),
        Statement("ReadInput", ("s3:GetObject",), (f"arn:aws:s3:::{in_bucket}/{in_prefix}*",)),
        Statement(
            "WriteOutput",
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
            (
                f"arn:aws:s3:::{out_bucket}/{out_prefix}*",
                f"arn:aws:s3:::{archive_bucket}/{fallback}*",
            ),
        ),
        *(
            Statement(
                f"List{index}",
                ("s3:ListBucket",),
                (f"arn:aws:s3:::{bucket}",),
                conditions={"StringLike": {"s3:prefix": tuple(prefixes)}},
            )
            for index, (bucket, prefixes) in enumerate(sorted(listed.items()))
        ),
        # The archive and the fallback blocks are under the platform key.
        Statement("PlatformKey", ("kms:Decrypt", "kms:GenerateDataKey"), (kms_key_arn,)),
        Statement(
            "Logs",
            ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
            (f"{log_group_arn}:*",),
        ),
    ]


def start_job_statements(
    cluster_arn: str, role_arns, operator: str = "StringEquals"
) -> list[Statement]:
    """Start runs on the team's virtual cluster as its job roles only, and tag them (Scheduler's
    role; the team's boundary passes patterns with ``StringLike``)."""
    return [
        Statement(
            "StartScheduledJobs",
            ("emr-containers:StartJobRun",),
            (cluster_arn,),
            conditions={operator: {"emr-containers:ExecutionRoleArn": tuple(sorted(role_arns))}},
        ),
        Statement("TagRuns", ("emr-containers:TagResource",), (f"{cluster_arn}/jobruns/*",)),
    ]


def pod_templates() -> dict[str, str]:
    """Drivers on on-demand nodes (losing one fails the run); executors on spot nodes, whose
    taint they tolerate (losing one is absorbed by Spark's decommissioning)."""
    capacity = "eks.amazonaws.com/capacityType"  # set by EKS on managed node groups' nodes
    driver = {"apiVersion": "v1", "kind": "Pod", "spec": {"nodeSelector": {capacity: "ON_DEMAND"}}}
    executor = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"nodeSelector": {capacity: "SPOT"}, "tolerations": [SPOT_TAINT.toleration()]},
    }
    return {
        "driver.yaml": yaml.safe_dump(driver, sort_keys=True),
        "executor.yaml": yaml.safe_dump(executor, sort_keys=True),
    }


def spark_submit_parameters(job: BatchJob, paths: JobPaths, image: str) -> str:
    size = job.size
    conf = {
        "spark.kubernetes.container.image": image,
        "spark.kubernetes.driver.podTemplateFile": f"{paths.templates_uri}driver.yaml",
        "spark.kubernetes.executor.podTemplateFile": f"{paths.templates_uri}executor.yaml",
        "spark.executor.instances": str(size.executors),
        "spark.executor.cores": str(size.executor_cores),
        "spark.executor.memory": f"{size.executor_memory_gb}g",
        "spark.driver.cores": "1",
        "spark.driver.memory": f"{size.driver_memory_gb}g",
        # What quotas and costs count (infra/declarations/batch.py), not left to a default.
        "spark.driver.memoryOverheadFactor": str(MEMORY_OVERHEAD_FACTOR),
        "spark.executor.memoryOverheadFactor": str(MEMORY_OVERHEAD_FACTOR),
        **RECOMMENDED_CONF,
        "spark.storage.decommission.fallbackStorage.path": paths.fallback_uri,
    }
    return " ".join(f"--conf {key}={value}" for key, value in conf.items())


def entry_point_arguments(model: ModelDeclaration, job: BatchJob, paths: JobPaths) -> list[str]:
    return [
        *("--model", model.name, "--version", str(model.version)),
        *("--archive", paths.archive_uri, "--input", paths.input_uri),
        *("--output", paths.output_uri, "--format", job.input_format),
    ]


def start_job_run_request(
    model: ModelDeclaration,
    job: BatchJob,
    paths: JobPaths,
    *,
    virtual_cluster_id: str,
    role_arn: str,
    image: str,
    log_group: str,
    run_id: str | None = None,
) -> dict:
    """StartJobRun's request (EMR on EKS API reference), as a universal target's input."""
    arguments = entry_point_arguments(model, job, paths)
    if run_id is not None:
        arguments += ["--run-id", run_id]
    return {
        "Name": run_name(model.name, job.name),
        "VirtualClusterId": virtual_cluster_id,
        "ClientToken": run_id or run_name(model.name, job.name),
        "ExecutionRoleArn": role_arn,
        "ReleaseLabel": RELEASE_LABEL,
        "JobDriver": {
            "SparkSubmitJobDriver": {
                "EntryPoint": ENTRY_POINT,
                "EntryPointArguments": arguments,
                "SparkSubmitParameters": spark_submit_parameters(job, paths, image),
            }
        },
        "ConfigurationOverrides": {
            "MonitoringConfiguration": {
                "PersistentAppUI": "ENABLED",
                "CloudWatchMonitoringConfiguration": {
                    "LogGroupName": log_group,
                    "LogStreamNamePrefix": f"{model.name}/{job.name}",
                },
            }
        },
        "RetryPolicyConfiguration": {"MaxAttempts": MAX_ATTEMPTS},
        # The run's tags; the cost estimate reads the model, team and expected duration here
        # (a schedule has no tags of its own).
        "Tags": {
            "mlplat:model": model.name,
            "mlplat:team": model.team,
            "mlplat:batch-job": job.name,
            "mlplat:cost:expected-run-minutes": str(job.size.expected_minutes),
        },
    }


@dataclass(frozen=True)
class BatchPlatform:
    """What a team's batch wiring uses of its platform (values of the contract, or outputs)."""

    environment: str
    region: str
    account: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    alerts_topic_arn: pulumi.Input[str]
    # The team's permissions boundary, on the job and scheduler roles of a serving stack.
    permissions_boundary: pulumi.Input[str] | None = None


class TeamBatch(PlatformComponent):
    """``archives``: model name -> its archive's key in the artifacts bucket."""

    TYPE = "mlplat:batch:TeamBatch"

    def __init__(
        self,
        name: str,
        *,
        team: str,
        models: list[ModelDeclaration],
        archives: dict[str, str],
        platform: BatchPlatform,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self._platform, self._team = platform, team
        env = platform.environment
        self.namespace = batch_namespace(team)
        self.virtual_cluster = aws.emrcontainers.VirtualCluster(
            f"{name}-virtual-cluster",
            name=f"mlplat-{env}-{team}",
            container_provider={
                "id": platform.cluster_name,
                "type": "EKS",
                "info": {"eks_info": {"namespace": self.namespace}},
            },
            opts=self.child_opts(),
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=batch_log_group(env, team),
            retention_in_days=LOG_RETENTION_DAYS,
            opts=self.child_opts(),
        )
        self.templates_key = f"teams/{team}/batch/pod-templates/"
        templates = [
            aws.s3.BucketObjectv2(
                f"{name}-{file.split('.')[0]}-template",
                bucket=platform.artifacts_bucket,
                key=f"{self.templates_key}{file}",
                content=body,
                content_type="application/yaml",
                server_side_encryption="aws:kms",
                kms_key_id=platform.kms_key_arn,
                opts=self.child_opts(),
            )
            for file, body in pod_templates().items()
        ]
        jobs = [(model, job) for model in models for job in model.batch]
        roles = {
            (model.name, job.name): self._job_role(name, model, job, archives[model.name])
            for model, job in jobs
        }
        scheduled = [(model, job) for model, job in jobs if job.schedule]
        if scheduled:
            self._schedules(name, scheduled, roles, archives, templates)
        for model, job in jobs:
            if job.on_demand:
                self._template(name, model, job, roles[(model.name, job.name)], archives)
        self._alarm(name)
        self.register_outputs(
            {
                "virtualClusterId": self.virtual_cluster.id,
                "logGroup": self.log_group.name,
                "jobRoles": {f"{m}/{j}": role.arn for (m, j), role in roles.items()},
            }
        )

    # --- per job -----------------------------------------------------------------------------

    def _paths(self, model: ModelDeclaration, job: BatchJob, archive_key: str) -> pulumi.Output:
        platform, team = self._platform, self._team

        def resolve(artifacts: str, capture: str) -> JobPaths:
            # The events table: the model's own events, as the sink writes them (streaming.py).
            events = f"s3://{capture}/{EVENTS_PREFIX.format(team=team)}{model.name}/"
            source = job.input.s3 or events
            return JobPaths(
                input_uri=source,
                output_uri=job.output,
                archive_uri=f"s3://{artifacts}/{archive_key}",
                fallback_uri=f"s3://{artifacts}/teams/{team}/batch/spark-fallback/"
                f"{model.name}/{job.name}/",
                templates_uri=f"s3://{artifacts}/{self.templates_key}",
            )

        return pulumi.Output.all(platform.artifacts_bucket, platform.capture_bucket).apply(
            lambda values: resolve(*values)
        )

    def _job_role(
        self, name: str, model: ModelDeclaration, job: BatchJob, archive_key: str
    ) -> aws.iam.Role:
        platform = self._platform
        role_name = job_role_name(platform.environment, self._team, model.name, job.name)
        owned = self.child_opts()
        role = aws.iam.Role(
            f"{name}-{model.name}-{job.name}-role",
            name=role_name,
            description=f"EMR on EKS job {job.name} of model {model.name}",
            assume_role_policy=pulumi.Output.all(
                platform.oidc_provider_arn, platform.oidc_issuer, platform.account
            ).apply(lambda v: job_trust(v[0], v[1], self.namespace, v[2], role_name)),
            tags={"mlplat:model": model.name},
            permissions_boundary=platform.permissions_boundary,
            opts=owned,
        )
        aws.iam.RolePolicy(
            f"{name}-{model.name}-{job.name}-access",
            role=role.id,
            policy=render_output(
                lambda paths, key_arn, log_arn: job_role_statements(
                    paths, kms_key_arn=key_arn, log_group_arn=log_arn
                ),
                self._paths(model, job, archive_key),
                platform.kms_key_arn,
                self.log_group.arn,
            ),
            opts=owned,
        )
        return role

    def _request(
        self,
        model: ModelDeclaration,
        job: BatchJob,
        role: aws.iam.Role,
        archive_key: str,
        run_id: str | None,
    ) -> pulumi.Output[dict]:
        platform = self._platform
        return pulumi.Output.all(
            self._paths(model, job, archive_key),
            self.virtual_cluster.id,
            role.arn,
            platform.account,
            self.log_group.name,
        ).apply(
            lambda v: start_job_run_request(
                model,
                job,
                v[0],
                virtual_cluster_id=v[1],
                role_arn=v[2],
                image=scoring_image(v[3], platform.region),
                log_group=v[4],
                run_id=run_id,
            )
        )

    def _schedules(self, name, scheduled, roles, archives, templates) -> None:
        env, team = self._platform.environment, self._team
        group = aws.scheduler.ScheduleGroup(
            f"{name}-schedules", name=batch_names(env, team), opts=self.child_opts()
        )
        scheduler = aws.iam.Role(
            f"{name}-scheduler",
            name=scheduler_role_name(env, team),
            assume_role_policy=pulumi.Output.from_input(self._platform.account).apply(
                lambda account: assume_role(
                    Principal.service("scheduler.amazonaws.com"),
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            ),
            permissions_boundary=self._platform.permissions_boundary,
            opts=self.child_opts(),
        )
        job_roles = [roles[(model.name, job.name)].arn for model, job in scheduled]
        policy = aws.iam.RolePolicy(
            f"{name}-scheduler-start",
            role=scheduler.id,
            policy=render_output(
                lambda cluster_arn, *role_arns: start_job_statements(cluster_arn, role_arns),
                self.virtual_cluster.arn,
                *job_roles,
            ),
            opts=self.child_opts(),
        )
        for model, job in scheduled:
            role = roles[(model.name, job.name)]
            aws.scheduler.Schedule(
                f"{name}-{model.name}-{job.name}-schedule",
                name=run_name(model.name, job.name),
                group_name=group.name,
                description=f"batch job {job.name} of model {model.name}",
                schedule_expression=job.schedule,
                schedule_expression_timezone="UTC",
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": START_JOB_RUN_TARGET,
                    "role_arn": scheduler.arn,
                    "input": self._request(
                        model, job, role, archives[model.name], EXECUTION_ID
                    ).apply(lambda request: json.dumps(request, sort_keys=True)),
                    "retry_policy": {"maximum_retry_attempts": 3},
                },
                opts=self.child_opts(depends_on=[policy, *templates]),
            )

    def _template(self, name, model, job, role, archives) -> None:
        def data(request: dict) -> dict:
            driver = request["JobDriver"]["SparkSubmitJobDriver"]
            logs = request["ConfigurationOverrides"]["MonitoringConfiguration"]
            return {
                "execution_role_arn": request["ExecutionRoleArn"],
                "release_label": request["ReleaseLabel"],
                "job_driver": {
                    "spark_submit_job_driver": {
                        "entry_point": driver["EntryPoint"],
                        "entry_point_arguments": driver["EntryPointArguments"],
                        "spark_submit_parameters": driver["SparkSubmitParameters"],
                    }
                },
                "configuration_overrides": {
                    "monitoring_configuration": {
                        "persistent_app_ui": logs["PersistentAppUI"],
                        "cloud_watch_monitoring_configuration": {
                            "log_group_name": logs["CloudWatchMonitoringConfiguration"][
                                "LogGroupName"
                            ],
                            "log_stream_name_prefix": logs["CloudWatchMonitoringConfiguration"][
                                "LogStreamNamePrefix"
                            ],
                        },
                    }
                },
            }

        aws.emrcontainers.JobTemplate(
            f"{name}-{model.name}-{job.name}-template",
            name=run_name(model.name, job.name),
            job_template_data=self._request(model, job, role, archives[model.name], None).apply(
                data
            ),
            tags={
                "mlplat:model": model.name,
                "mlplat:cost:expected-run-minutes": str(job.size.expected_minutes),
            },
            opts=self.child_opts(),
        )

    # --- per team ------------------------------------------------------------------------------

    def _alarm(self, name: str) -> None:
        """EMR on EKS sends "EMR Job Run State Change" events; a rule matches this virtual
        cluster's failed runs, and an alarm on the rule's TriggeredRules metric notifies."""
        rule = aws.cloudwatch.EventRule(
            f"{name}-failed-runs",
            name=batch_names(self._platform.environment, self._team),
            description=f"failed batch runs of team {self._team}",
            event_pattern=self.virtual_cluster.id.apply(
                lambda cluster_id: json.dumps(
                    {
                        "source": ["aws.emr-containers"],
                        "detail-type": ["EMR Job Run State Change"],
                        "detail": {"state": ["FAILED"], "virtualClusterId": [cluster_id]},
                    }
                )
            ),
            opts=self.child_opts(),
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-failed-runs-alarm",
            name=f"{batch_names(self._platform.environment, self._team)}-failed-runs",
            alarm_description=f"a batch scoring run of team {self._team} failed",
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions={"RuleName": rule.name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self._platform.alerts_topic_arn],
            opts=self.child_opts(),
        )


def scoring_image(account: str, region: str) -> str:
    return (
        f"{account}.dkr.ecr.{region}.amazonaws.com/{SCORING_IMAGE_REPOSITORY}:{SCORING_IMAGE_TAG}"
    )
