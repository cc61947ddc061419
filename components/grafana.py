"""Amazon Managed Grafana with the generated dashboards, provisioned as code.

- Workspace: Grafana ``GRAFANA_VERSION`` (the grafana-foundation-sdk release the dashboards are
  built with matches it), IAM Identity Center sign-in (``AWS_SSO``: the account needs Identity
  Center, which is why Grafana is a switch, ``mlplat:monitoring.grafana``), encrypted with the
  platform key, reading AMP and CloudWatch with its own role (``CUSTOMER_MANAGED``: this
  program writes the role, read-only). Identity Center groups get the Admin/Editor roles.
- Inside the workspace, through the Grafana provider (pulumiverse-grafana), authenticated with a
  workspace service account's token: the AMP and CloudWatch data sources (SigV4 with the
  workspace role), a folder per team and one for the platform, and three kinds of dashboard
  (``lifecycle.monitoring.dashboards``): the overview and the templated model view in the
  platform folder, a team view in each team's folder. The count is 2 + teams, never per model.
- The token lives at most 30 days (AMG's limit for service account tokens): a deploy after that
  replaces it (``seconds_to_live`` is part of its inputs; ``pulumi up --replace`` on the token).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumiverse_grafana as grafana

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, assume_role, render_output
from infra.declarations.environment import MonitoringSettings
from infra.declarations.tags import TAG_GRAFANA_EDITORS, TAG_GRAFANA_VIEWERS
from lifecycle.monitoring import dashboards

TOKEN_SECONDS = 30 * 24 * 3600  # AMG's maximum for a service account token
GRAFANA_SERVICE = "grafana.amazonaws.com"


def workspace_role_statements(region: str, account: str, amp_workspace_arn: str) -> list[Statement]:
    """Read-only: query the environment's AMP workspace, read CloudWatch metrics and alarms."""
    return [
        Statement(
            "QueryPrometheus",
            ("aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata"),
            (amp_workspace_arn,),
        ),
        Statement(
            "ReadCloudWatch",
            (
                "cloudwatch:GetMetricData",
                "cloudwatch:ListMetrics",
                "cloudwatch:DescribeAlarmsForMetric",
                "cloudwatch:DescribeAlarmHistory",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetInsightRuleReport",
                "ec2:DescribeRegions",
                "tag:GetResources",
            ),
            ("*",),
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
    ]


def data_sources(prometheus_endpoint: str, region: str) -> list[dict]:
    """The AMP (Prometheus with SigV4) and CloudWatch data sources, as the provider takes them."""
    return [
        {
            "name": "AMP",
            "uid": dashboards.PROMETHEUS_UID,
            "type": "prometheus",
            "url": prometheus_endpoint.rstrip("/"),
            "json": {
                "httpMethod": "POST",
                "sigV4Auth": True,
                "sigV4AuthType": "ec2_iam_role",  # the workspace's own role
                "sigV4Region": region,
            },
        },
        {
            "name": "CloudWatch",
            "uid": "mlplat-cloudwatch",
            "type": "cloudwatch",
            "url": "",
            "json": {"authType": "ec2_iam_role", "defaultRegion": region},
        },
    ]


class GrafanaDashboards(PlatformComponent):
    TYPE = "mlplat:grafana:GrafanaDashboards"

    def __init__(
        self,
        name: str,
        *,
        environment: str,
        region: str,
        account: pulumi.Input[str],
        teams: Sequence[str],
        settings: MonitoringSettings,
        kms_key_arn: pulumi.Input[str],
        amp_workspace_arn: pulumi.Input[str],
        prometheus_endpoint: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts=opts)
        role = aws.iam.Role(
            f"{name}-role",
            # Amazon Managed Grafana assumes it, for workspaces of this account only.
            assume_role_policy=pulumi.Output.from_input(account).apply(
                lambda acct: assume_role(
                    Principal.service(GRAFANA_SERVICE),
                    conditions={"StringEquals": {"aws:SourceAccount": acct}},
                )
            ),
            opts=self.child_opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-read",
            role=role.id,
            policy=render_output(
                lambda acct, arn: workspace_role_statements(region, acct, arn),
                account,
                amp_workspace_arn,
            ),
            opts=self.child_opts(),
        )
        self.workspace = aws.grafana.Workspace(
            f"{name}-workspace",
            name=name,
            account_access_type="CURRENT_ACCOUNT",
            authentication_providers=["AWS_SSO"],
            permission_type="CUSTOMER_MANAGED",
            role_arn=role.arn,
            data_sources=["PROMETHEUS", "CLOUDWATCH"],
            grafana_version=dashboards.GRAFANA_VERSION,
            kms_key_id=kms_key_arn,
            tags={
                TAG_GRAFANA_EDITORS: str(settings.grafana_editors),
                TAG_GRAFANA_VIEWERS: str(settings.grafana_viewers),
            },
            opts=self.child_opts(),
        )
        for grafana_role, groups in (
            ("ADMIN", settings.grafana_admin_groups),
            ("EDITOR", settings.grafana_editor_groups),
        ):
            if groups:
                aws.grafana.RoleAssociation(
                    f"{name}-{grafana_role.lower()}s",
                    role=grafana_role,
                    group_ids=list(groups),
                    workspace_id=self.workspace.id,
                    opts=self.child_opts(),
                )
        account_ = aws.grafana.WorkspaceServiceAccount(
            f"{name}-provisioner",
            name="mlplat-provisioner",
            grafana_role="ADMIN",
            workspace_id=self.workspace.id,
            opts=self.child_opts(),
        )
        token = aws.grafana.WorkspaceServiceAccountToken(
            f"{name}-provisioner-token",
            name="mlplat-provisioner",
            service_account_id=account_.service_account_id,
            seconds_to_live=TOKEN_SECONDS,
            workspace_id=self.workspace.id,
            opts=self.child_opts(),
        )
        provider = grafana.Provider(
            f"{name}-provider",
            url=self.workspace.endpoint.apply(lambda host: f"https://{host}"),
            auth=token.key,
            opts=self.child_opts(),
        )
        self._provisioned(name, environment, region, teams, prometheus_endpoint, provider)
        self.register_outputs({"endpoint": self.workspace.endpoint})

    def _provisioned(self, name, environment, region, teams, prometheus_endpoint, provider):
        opts = self.child_opts(provider=provider)
        sources = pulumi.Output.from_input(prometheus_endpoint).apply(
            lambda endpoint: data_sources(endpoint, region)
        )
        for index, source in enumerate(("amp", "cloudwatch")):
            grafana.oss.DataSource(
                f"{name}-{source}",
                name=sources.apply(lambda s, i=index: s[i]["name"]),
                uid=sources.apply(lambda s, i=index: s[i]["uid"]),
                type=sources.apply(lambda s, i=index: s[i]["type"]),
                url=sources.apply(lambda s, i=index: s[i]["url"]),
                json_data_encoded=sources.apply(lambda s, i=index: json.dumps(s[i]["json"])),
                opts=opts,
            )
        platform = grafana.oss.Folder(
            f"{name}-platform", title="mlplat platform", uid=f"mlplat-{environment}", opts=opts
        )
        for board_name, board in (
            ("overview", dashboards.platform_overview(environment)),
            ("model", dashboards.model_view(environment)),
        ):
            grafana.oss.Dashboard(
                f"{name}-{board_name}",
                folder=platform.uid,
                config_json=json.dumps(board, sort_keys=True),
                overwrite=True,
                opts=opts,
            )
        for team in teams:
            folder = grafana.oss.Folder(
                f"{name}-{team}",
                title=f"team {team}",
                uid=dashboards.team_folder_uid(environment, team),
                opts=opts,
            )
            grafana.oss.Dashboard(
                f"{name}-{team}-view",
                folder=folder.uid,
                config_json=json.dumps(dashboards.team_view(environment, team), sort_keys=True),
                overwrite=True,
                opts=opts,
            )
