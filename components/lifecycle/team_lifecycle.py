"""A team's model lifecycle, in its serving layer: drift on a schedule, alarms, retraining on
spot, and the promotion path back to git.

Per team or per model, decided by scale (1,000 models over 10 teams, a serving stack at most
1,500 resources): everything that can be shared is per team, and a model adds only what must
name it.
- Per team: a schedule group, one drift pipeline, one retraining pipeline per spot choice,
  one drift config and schedule per distinct monitoring setting, three roles with their
  policies, and the promotion path (connection, API destination, rule, target).
- Per monitored model: 1 alarm (an alarm watches one metric, and the metric names the model).
- Per drift-triggered model: 1 rule + 1 target. A SageMaker pipeline target gets only the
  static ``PipelineParameterList`` of its target, never the event, so the model's parameters
  live on a target of its own; and a rule takes at most 5 targets.
- Per model retrained on a schedule: 1 schedule. Per EKS model that retrains: 1 package group
  (a multi-model endpoint's model has one already).
So a monitored, drift-retrained model costs 3 resources; the counts are in the README.

Nothing here edits a live endpoint: an approved version reaches serving through a pull request
that bumps the declaration (``.github/workflows/promote-model.yml``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, assume_role, render_output
from components.lifecycle.definition_check import definition_problems
from components.lifecycle.definitions import (
    DriftPipelineInputs,
    RetrainingPipelineInputs,
    drift_definition,
    retraining_definition,
)
from components.lifecycle.events import (
    DRIFT_METRIC,
    DRIFT_NAMESPACE,
    approval_pattern,
    bounded,
    dispatch_transformer,
    drift_alarm_name,
    drift_alarm_pattern,
    package_group_name,
)
from components.lifecycle.roles import (
    TeamPrefixes,
    declared_data,
    invoke_destination_statement,
    pipeline_statements,
    start_pipelines_statements,
)
from infra import catalog
from infra.declarations import ModelDeclaration, ServingTarget
from infra.declarations.tags import Ownership

GITHUB_API = "https://api.github.com"
# GitHub's REST API: JSON media type and a pinned API version (docs.github.com, "Create a
# repository dispatch event"); EventBridge sends its own User-Agent, which GitHub requires.
GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
# The drift alarm looks at the hour after a run's window end (the metric's timestamp): the job
# publishes once per run, so one period holds that run's result and nothing else.
DRIFT_ALARM_PERIOD_SECONDS = 3600


@dataclass(frozen=True)
class LifecyclePlatform:
    """What the lifecycle uses of the platform (from the contract or the single stack)."""

    region: str
    account: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    artifacts_bucket_arn: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    capture_bucket_arn: pulumi.Input[str]
    registry_table: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    # The team's permissions boundary, on every lifecycle role of a serving stack.
    permissions_boundary: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class LifecycleConfig:
    environment: str
    image: str
    github_repository: str
    github_token_secret: str


def drift_groups(models: list[ModelDeclaration]) -> dict[tuple, list[ModelDeclaration]]:
    """Monitored models that one drift run can judge together (one job config per group)."""
    groups: dict[tuple, list[ModelDeclaration]] = defaultdict(list)
    for model in models:
        m = model.monitoring
        if m is not None:
            key = (
                m.schedule,
                m.method,
                m.threshold,
                m.drift_share,
                m.window_hours,
                m.instance_type,
            )
            groups[key].append(model)
    return dict(sorted(groups.items(), key=lambda item: str(item[0])))


def drift_config(
    environment: str, models: list[ModelDeclaration], table: str, bucket: str, region: str
) -> dict:
    """The drift job's config for a group (lifecycle/drift/config.py), window from the run."""
    first = models[0].monitoring
    entries = {}
    for model in sorted(models, key=lambda m: m.name):
        m = model.monitoring
        entry: dict = {"team": model.team}
        if m.features != "all":
            entry["features"] = list(m.features)
        if m.baseline.startswith("s3://"):
            entry["baseline_uri"] = m.baseline
        entries[model.name] = entry
    config = {
        "environment": environment,
        "window_hours": first.window_hours,
        "models": entries,
        "method": first.method,
        "drift_share": first.drift_share,
        "registry_table": table,
        "report_bucket": bucket,
        "report_prefix": "drift/teams/",
        "region": region,
    }
    if first.threshold is not None:
        config["threshold"] = first.threshold
    return config


def retraining_parameters(
    model: ModelDeclaration, environment: str, region: str, artifacts_bucket: str
) -> dict[str, str]:
    """The retraining pipeline's parameters for ``model`` (strings: both EventBridge targets
    and Scheduler pass parameter values as strings)."""
    r = model.retraining
    prefix = f"s3://{artifacts_bucket}/{TeamPrefixes(model.team).model_retraining(model.name)}"
    parameters = {
        "ModelName": model.name,
        "ModelPackageGroup": package_group_name(environment, model.name),
        "TrainingImage": training_image(model, region),
        "ServingImage": serving_image(model, region),
        "EntryPoint": r.entry_point,
        "SourceUri": f"{prefix}code/sourcedir.tar.gz",
        "TrainingData": r.data,
        "EvaluationData": r.evaluation_uri,
        "InstanceType": r.instance_type,
        "MaxRuntimeSeconds": str(r.max_runtime_seconds),
        "MetricName": r.metric,
        "MetricMinimum": repr(float(r.minimum)),
        "ApprovalStatus": "PendingManualApproval" if r.approval == "manual" else "Approved",
    }
    if r.spot:
        parameters["MaxWaitSeconds"] = str(r.effective_max_wait_seconds)
        parameters["CheckpointUri"] = f"{prefix}checkpoints/"
    return parameters


def training_image(model: ModelDeclaration, region: str) -> str:
    r = model.retraining
    return r.image or catalog.training_image(
        model.framework, model.framework_version, region, r.instance_type
    )


def serving_image(model: ModelDeclaration, region: str) -> str:
    return model.image or catalog.serving_image(
        model.framework, model.framework_version, region, model.effective_instance_type
    )


def role_name(team_prefix: str, kind: str) -> str:
    """``mlplat-<env>-<team>-lc-<kind>``: at most 64 characters for a 34-character team; the
    deployers pass roles matching ``*-lc-*`` (components/identity_policies.py)."""
    return f"{team_prefix}-lc-{kind}"


class TeamLifecycle(PlatformComponent):
    TYPE = "mlplat:lifecycle:TeamLifecycle"

    def __init__(
        self,
        name: str,
        *,
        team: str,
        models: list[ModelDeclaration],
        config: LifecycleConfig,
        platform: LifecyclePlatform,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=team), opts=opts)
        self._team, self._config, self._platform = team, config, platform
        self._models = sorted(models, key=lambda m: m.name)
        env = config.environment
        self._prefix = f"mlplat-{env}-{team}"
        self.schedule_group = aws.scheduler.ScheduleGroup(
            f"{name}-schedules", name=bounded(self._prefix), opts=self.child_opts()
        )
        self.pipeline_role = self._pipeline_role(name)
        self.drift_pipeline = self._drift_pipeline(name) if drift_groups(self._models) else None
        self.retraining_pipelines = self._retraining_pipelines(name)
        self.scheduler_role = self._scheduler_role(name)
        self.destination = self._api_destination(name) if self.retraining_pipelines else None
        self.events_role = self._events_role(name) if self.retraining_pipelines else None
        self.drift_schedules = self._drift_schedules(name)
        self.promotion = self._promotion(name) if self.destination else None
        self.register_outputs(
            {
                "driftPipeline": self.drift_pipeline.pipeline_name if self.drift_pipeline else None,
                "retrainingPipelines": {
                    str(spot): p.pipeline_name for spot, p in self.retraining_pipelines.items()
                },
            }
        )

    # --- roles ---------------------------------------------------------------------------
    def _pipeline_role(self, name: str) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-pipeline-role",
            name=role_name(self._prefix, "pipeline"),
            assume_role_policy=assume_role(Principal.service("sagemaker.amazonaws.com")),
            permissions_boundary=self._platform.permissions_boundary,
            opts=self.child_opts(),
        )
        retrained = [m for m in self._models if m.retraining]
        declared = declared_data(self._models)
        images = [self._config.image] + [
            training_image(m, self._platform.region) for m in retrained
        ]
        p = self._platform
        self._pipeline_policy = aws.iam.RolePolicy(
            f"{name}-pipeline-policy",
            role=role.id,
            policy=render_output(
                lambda role_arn, account, artifacts, capture, key, table: pipeline_statements(
                    role_arn=role_arn,
                    team=self._team,
                    environment=self._config.environment,
                    region=p.region,
                    account=account,
                    artifacts_bucket_arn=artifacts,
                    capture_bucket_arn=capture,
                    kms_key_arn=key,
                    registry_table_arn=f"arn:aws:dynamodb:{p.region}:{account}:table/{table}",
                    package_groups=[
                        package_group_name(self._config.environment, m.name) for m in retrained
                    ],
                    declared_data=declared,
                    images=images,
                ),
                role.arn,
                p.account,
                p.artifacts_bucket_arn,
                p.capture_bucket_arn,
                p.kms_key_arn,
                p.registry_table,
            ),
            opts=self.child_opts(),
        )
        return role

    def _service_role(self, name: str, kind: str, service: str, statements, *inputs):
        """A role ``service`` assumes (from this account only), with ``statements(*inputs)``."""
        role = aws.iam.Role(
            f"{name}-{kind}-role",
            name=role_name(self._prefix, kind),
            assume_role_policy=pulumi.Output.from_input(self._platform.account).apply(
                lambda account: assume_role(
                    Principal.service(service),
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            ),
            permissions_boundary=self._platform.permissions_boundary,
            opts=self.child_opts(),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-{kind}-policy",
            role=role.id,
            policy=render_output(statements, *inputs),
            opts=self.child_opts(),
        )
        return role, policy

    def _scheduler_role(self, name: str) -> aws.iam.Role | None:
        """Scheduler starts the drift pipeline and the scheduled retraining runs."""
        pipelines = ([self.drift_pipeline] if self.drift_pipeline else []) + [
            self.retraining_pipelines[m.retraining.spot]
            for m in self._models
            if m.retraining and m.retraining.schedule
        ]
        if not pipelines:
            self._scheduler_policy = None
            return None
        arns = list({id(p): p.arn for p in pipelines}.values())
        role, self._scheduler_policy = self._service_role(
            name,
            "scheduler",
            "scheduler.amazonaws.com",
            lambda *values: start_pipelines_statements("StartTeamPipelines", list(values)),
            *arns,
        )
        return role

    def _events_role(self, name: str) -> aws.iam.Role:
        """EventBridge starts drift-triggered retraining and calls the GitHub destination."""
        drift_triggered = list(
            {
                id(pipeline): pipeline.arn
                for m in self._models
                if m.retraining and m.retraining.on_drift
                for pipeline in [self.retraining_pipelines[m.retraining.spot]]
            }.values()
        )

        def statements(destination_arn, *pipeline_arns):
            found = [invoke_destination_statement(destination_arn)]
            if pipeline_arns:
                found += start_pipelines_statements("StartRetraining", list(pipeline_arns))
            return found

        role, self._events_policy = self._service_role(
            name,
            "events",
            "events.amazonaws.com",
            statements,
            self.destination.arn,
            *drift_triggered,
        )
        return role

    # --- pipelines -----------------------------------------------------------------------
    def _pipeline(self, name: str, pipeline_name: str, build) -> aws.sagemaker.Pipeline:
        """A pipeline whose definition is checked offline before it is ever sent."""

        def checked(values) -> str:
            definition = build(*values)
            problems = definition_problems(definition)
            if problems:
                raise ValueError(f"pipeline {pipeline_name}: " + "; ".join(problems))
            return json.dumps(definition, sort_keys=True)

        p = self._platform
        return aws.sagemaker.Pipeline(
            name,
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            role_arn=self.pipeline_role.arn,
            pipeline_definition=pulumi.Output.all(
                self.pipeline_role.arn, p.artifacts_bucket, p.capture_bucket, p.kms_key_arn
            ).apply(checked),
            # SageMaker checks the role can run the steps when the pipeline is created.
            opts=self.child_opts(depends_on=[self._pipeline_policy]),
        )

    def _drift_pipeline(self, name: str) -> aws.sagemaker.Pipeline:
        prefixes = TeamPrefixes(self._team)

        def build(role_arn, artifacts, capture, key):
            return drift_definition(
                DriftPipelineInputs(
                    capture_uri=f"s3://{capture}/{prefixes.capture}",
                    baselines_uri=f"s3://{artifacts}/{prefixes.baselines}",
                    default_config_uri=f"s3://{artifacts}/{prefixes.configs}drift/0/drift.json",
                    reports_uri=f"s3://{artifacts}/{prefixes.drift_reports}runs/",
                    image=self._config.image,
                    role_arn=role_arn,
                    kms_key_arn=key,
                )
            )

        return self._pipeline(f"{name}-drift", bounded(f"{self._prefix}-drift", 256), build)

    def _retraining_pipelines(self, name: str) -> dict[bool, aws.sagemaker.Pipeline]:
        choices = sorted({m.retraining.spot for m in self._models if m.retraining}, reverse=True)
        pipelines = {}
        for spot in choices:
            pipeline_name = retraining_pipeline_name(self._prefix, spot)

            def build(role_arn, artifacts, capture, key, spot=spot):
                return retraining_definition(
                    RetrainingPipelineInputs(
                        role_arn=role_arn,
                        kms_key_arn=key,
                        output_uri=f"s3://{artifacts}/{TeamPrefixes(self._team).retraining}",
                        spot=spot,
                    )
                )

            suffix = pipeline_name.removeprefix(f"{self._prefix}-")
            pipelines[spot] = self._pipeline(f"{name}-{suffix}", pipeline_name, build)
        return pipelines

    # --- drift: configs, schedules, alarms --------------------------------------------------
    def _drift_schedules(self, name: str) -> list[aws.scheduler.Schedule]:
        p, env = self._platform, self._config.environment
        schedules = []
        for index, (key, models) in enumerate(drift_groups(self._models).items()):
            config_key = f"{TeamPrefixes(self._team).configs}drift/{index}/drift.json"
            document = aws.s3.BucketObjectv2(
                f"{name}-drift-config-{index}",
                bucket=p.artifacts_bucket,
                key=config_key,
                content=pulumi.Output.all(p.registry_table, p.artifacts_bucket).apply(
                    lambda values, models=models: json.dumps(
                        drift_config(env, models, values[0], values[1], p.region),
                        indent=2,
                        sort_keys=True,
                    )
                ),
                content_type="application/json",
                server_side_encryption="aws:kms",
                kms_key_id=p.kms_key_arn,
                opts=self.child_opts(),
            )
            schedules.append(
                self._schedule(
                    f"{name}-drift-{index}",
                    f"drift-{index}",
                    expression=key[0],
                    pipeline=self.drift_pipeline,
                    parameters={
                        "ConfigUri": pulumi.Output.concat(
                            "s3://", p.artifacts_bucket, "/", config_key
                        ),
                        "InstanceType": key[5],
                    },
                    depends_on=[document],
                )
            )
        return schedules

    def _schedule(self, name, schedule_name, *, expression, pipeline, parameters, depends_on=()):
        return pipeline_schedule(
            name,
            schedule_name,
            group=self.schedule_group.name,
            role_arn=self.scheduler_role.arn,
            expression=expression,
            pipeline_arn=pipeline.arn,
            parameters=parameters,
            opts=self.child_opts(depends_on=[self._scheduler_policy, *depends_on]),
        )

    def links(self) -> LifecycleLinks:
        """What the team's models' lifecycle resources name, from this stack's own resources."""
        return LifecycleLinks(
            schedule_group=self.schedule_group.name,
            scheduler_role_arn=self.scheduler_role.arn if self.scheduler_role else None,
            events_role_arn=self.events_role.arn if self.events_role else None,
            retraining_pipeline_arns={spot: p.arn for spot, p in self.retraining_pipelines.items()},
            depends_on=tuple(
                x for x in (self._scheduler_policy, getattr(self, "_events_policy", None)) if x
            ),
        )

    # --- promotion: approved version -> repository_dispatch -> a pull request ----------------
    def _api_destination(self, name: str) -> aws.cloudwatch.EventApiDestination:
        """GitHub's repository_dispatch, authorised with the token a person stored in Secrets
        Manager (read at deploy time into the connection, which keeps it in a secret of its
        own; in Pulumi state it is a secret output)."""
        token = aws.secretsmanager.get_secret_version_output(
            secret_id=self._config.github_token_secret
        ).secret_string
        connection = aws.cloudwatch.EventConnection(
            f"{name}-github",
            name=bounded(f"{self._prefix}-github"),
            description="GitHub API, authorised with the repository dispatch token",
            authorization_type="API_KEY",
            auth_parameters={
                "api_key": {
                    "key": "Authorization",
                    "value": pulumi.Output.secret(token).apply(lambda t: f"Bearer {t}"),
                },
                "invocation_http_parameters": {
                    "header_parameters": [
                        {"key": key, "value": value, "is_value_secret": False}
                        for key, value in GITHUB_HEADERS.items()
                    ]
                },
            },
            opts=self.child_opts(),
        )
        return aws.cloudwatch.EventApiDestination(
            f"{name}-dispatch",
            name=bounded(f"{self._prefix}-dispatch"),
            description="repository_dispatch of the repository whose declarations serve models",
            connection_arn=connection.arn,
            invocation_endpoint=f"{GITHUB_API}/repos/{self._config.github_repository}/dispatches",
            http_method="POST",
            invocation_rate_limit_per_second=1,
            opts=self.child_opts(),
        )

    def _promotion(self, name: str) -> dict[str, pulumi.Resource]:
        env = self._config.environment
        groups = [package_group_name(env, m.name) for m in self._models if m.retraining]
        rule = aws.cloudwatch.EventRule(
            f"{name}-promote",
            name=bounded(f"{self._prefix}-promote"),
            description="An approved model version -> a pull request bumping its declaration",
            event_pattern=json.dumps(approval_pattern(groups)),
            opts=self.child_opts(),
        )
        target = aws.cloudwatch.EventTarget(
            f"{name}-promote-target",
            rule=rule.name,
            target_id="github-repository-dispatch",
            arn=self.destination.arn,
            role_arn=self.events_role.arn,
            input_transformer=dispatch_transformer(env),
            opts=self.child_opts(depends_on=[self._events_policy]),
        )
        return {"rule": rule, "target": target}


def retraining_pipeline_name(team_prefix: str, spot: bool) -> str:
    return f"{team_prefix}-retrain" if spot else f"{team_prefix}-retrain-on-demand"


@dataclass(frozen=True)
class LifecycleLinks:
    """What a model's lifecycle resources name of its team's lifecycle: from the team's component
    in the same stack, or (a further serving shard) from the names shard 0 gives them."""

    schedule_group: pulumi.Input[str]
    scheduler_role_arn: pulumi.Input[str] | None
    events_role_arn: pulumi.Input[str] | None
    retraining_pipeline_arns: dict[bool, pulumi.Input[str]]
    depends_on: tuple = ()


def named_links(
    environment: str, team: str, models: list[ModelDeclaration], platform: LifecyclePlatform
) -> LifecycleLinks:
    """The team lifecycle's names as ``TeamLifecycle`` gives them (in shard 0): ARNs are built from
    them, so a further shard needs no output of shard 0. SageMaker puts names in ARNs lowercased."""
    prefix = f"mlplat-{environment}-{team}"
    retrained = [m for m in models if m.retraining]
    spots = {m.retraining.spot for m in retrained}

    def arn(build):
        return pulumi.Output.from_input(platform.account).apply(build)

    return LifecycleLinks(
        schedule_group=bounded(prefix),
        scheduler_role_arn=arn(lambda a: f"arn:aws:iam::{a}:role/{role_name(prefix, 'scheduler')}"),
        events_role_arn=arn(lambda a: f"arn:aws:iam::{a}:role/{role_name(prefix, 'events')}")
        if retrained
        else None,
        retraining_pipeline_arns={
            spot: arn(
                lambda a, spot=spot: (
                    f"arn:aws:sagemaker:{platform.region}:{a}:pipeline/"
                    f"{retraining_pipeline_name(prefix, spot).lower()}"
                )
            )
            for spot in spots
        },
    )


class ModelLifecycle(PlatformComponent):
    """One model's own lifecycle resources (its drift alarm, retraining triggers, an EKS model's
    package group): in the serving shard that holds the model, so a change to the model touches
    that shard alone. ``name`` is the team lifecycle's: the children keep the names they had."""

    TYPE = "mlplat:lifecycle:ModelLifecycle"

    def __init__(
        self,
        name: str,
        *,
        model: ModelDeclaration,
        config: LifecycleConfig,
        platform: LifecyclePlatform,
        links: LifecycleLinks,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            f"{name}-{model.name}", owner=Ownership(team=model.team, model=model.name), opts=opts
        )
        self._team, self._config, self._platform, self._links = model.team, config, platform, links
        self._models = [model]
        self._prefix = f"mlplat-{config.environment}-{model.team}"
        self.alarms = self._drift_alarms(name)
        self.triggers = self._retraining_triggers(name)
        self.register_outputs({"driftAlarms": [alarm.name for alarm in self.alarms.values()]})

    def _drift_alarms(self, name: str) -> dict[str, aws.cloudwatch.MetricAlarm]:
        env = self._config.environment
        alarms = {}
        for model in self._models:
            if model.monitoring is None:
                continue
            alarm_name = drift_alarm_name(env, self._team, model.name)
            alarms[model.name] = aws.cloudwatch.MetricAlarm(
                f"{name}-drift-{model.name}",
                name=alarm_name,
                alarm_description=(
                    f"Input drift detected for {model.name} v{model.version} by the drift job; "
                    f"report: s3://<artifacts>/{TeamPrefixes(self._team).drift_reports}"
                    f"{model.name}/v{model.version}/"
                ),
                namespace=DRIFT_NAMESPACE,
                metric_name=DRIFT_METRIC,
                dimensions={"environment": env, "model": model.name, "version": str(model.version)},
                statistic="Maximum",
                period=DRIFT_ALARM_PERIOD_SECONDS,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                threshold=1,
                # No run in the period is not drift: the alarm returns to OK, so the next drift
                # is a new ALARM transition (and a new retraining).
                treat_missing_data="notBreaching",
                alarm_actions=[self._platform.alarm_topic_arn],
                tags={"mlplat:model": model.name},
                opts=self.child_opts(),
            )
        return alarms

    # --- retraining triggers ------------------------------------------------------------------
    def _retraining_triggers(self, name: str) -> list[pulumi.Resource]:
        p, env = self._platform, self._config.environment
        created: list[pulumi.Resource] = []
        for model in self._models:
            r = model.retraining
            if r is None:
                continue
            links = self._links
            pipeline_arn = links.retraining_pipeline_arns[r.spot]
            parameters = pulumi.Output.from_input(p.artifacts_bucket).apply(
                lambda bucket, model=model: retraining_parameters(model, env, p.region, bucket)
            )
            if model.serving is ServingTarget.EKS:  # an MME model's group is its HostedModel's
                created.append(
                    aws.sagemaker.ModelPackageGroup(
                        f"{name}-{model.name}-package-group",
                        model_package_group_name=package_group_name(env, model.name),
                        model_package_group_description=f"{model.name}, owned by {self._team}",
                        opts=self.child_opts(),
                    )
                )
            if r.on_drift:
                rule = aws.cloudwatch.EventRule(
                    f"{name}-retrain-{model.name}",
                    name=bounded(f"{self._prefix}-retrain-{model.name}"),
                    description=f"Drift alarm of {model.name} -> its retraining pipeline",
                    event_pattern=json.dumps(
                        drift_alarm_pattern(drift_alarm_name(env, self._team, model.name))
                    ),
                    tags={"mlplat:model": model.name},
                    opts=self.child_opts(),
                )
                created += [
                    rule,
                    aws.cloudwatch.EventTarget(
                        f"{name}-retrain-{model.name}-target",
                        rule=rule.name,
                        target_id="retraining-pipeline",
                        arn=pipeline_arn,
                        role_arn=links.events_role_arn,
                        sagemaker_pipeline_target=parameters.apply(
                            lambda values: {
                                "pipeline_parameter_lists": [
                                    {"name": k, "value": v} for k, v in sorted(values.items())
                                ]
                            }
                        ),
                        retry_policy={
                            "maximum_retry_attempts": 3,
                            "maximum_event_age_in_seconds": 3600,
                        },
                        opts=self.child_opts(depends_on=list(links.depends_on)),
                    ),
                ]
            if r.schedule:
                created.append(
                    pipeline_schedule(
                        f"{name}-retrain-{model.name}-schedule",
                        bounded(f"retrain-{model.name}"),
                        group=links.schedule_group,
                        role_arn=links.scheduler_role_arn,
                        expression=r.schedule,
                        pipeline_arn=pipeline_arn,
                        parameters=parameters,
                        opts=self.child_opts(depends_on=list(links.depends_on)),
                    )
                )
        return created


def pipeline_schedule(
    name, schedule_name, *, group, role_arn, expression, pipeline_arn, parameters, opts
) -> aws.scheduler.Schedule:
    """A schedule in the team's group that starts a pipeline with ``parameters``."""
    return aws.scheduler.Schedule(
        name,
        name=schedule_name,
        group_name=group,
        schedule_expression=expression,
        flexible_time_window={"mode": "OFF"},
        target={
            "arn": pipeline_arn,
            "role_arn": role_arn,
            "sagemaker_pipeline_parameters": pulumi.Output.from_input(parameters).apply(
                lambda values: {
                    "pipeline_parameters": [
                        {"name": key, "value": value} for key, value in sorted(values.items())
                    ]
                }
            ),
            "retry_policy": {"maximum_retry_attempts": 3},
        },
        opts=opts,
    )
