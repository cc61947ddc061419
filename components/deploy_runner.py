"""The deploy workflow's runner inside the VPC: a CodeBuild-hosted GitHub Actions runner.

Why: `pulumi up` talks to the Kubernetes API, which is private in prod and, elsewhere, public
only to ``cluster.publicAccessCidrs`` (GitHub-hosted runners come from GitHub's address ranges,
in none of them). A runner in the environment's private subnets reaches the API server's private
endpoint, whichever way the public one is set.

How (AWS CodeBuild user guide, "Self-hosted GitHub Actions runners in AWS CodeBuild"): a project
whose source is the repository, with a webhook on ``WORKFLOW_JOB_QUEUED``; a workflow job whose
``runs-on`` is ``codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}`` starts a
build of that project, which registers itself as the job's ephemeral runner and runs it.
CodeBuild reaches GitHub through a CodeConnections connection (``ci.deployRunnerConnectionArn``),
which a person creates and authorises once per account and region: it cannot be done from code.

The runner's own role may only run builds (logs, the network interfaces of a VPC build, the
connection's token): the job deploys as the CI deployer role, assumed with GitHub's OIDC token as
on any runner. Its security group sends HTTPS out (GitHub, package registries, AWS APIs) and the
cluster's security group admits it on 443.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.iam_documents import Principal, Statement, assume_role, render_output

# An Ubuntu image (actions/setup-python's prebuilt Pythons are built for Ubuntu) with the AWS CLI
# that the kubeconfig's `aws eks get-token` runs; one listed in the CodeBuild user guide's
# "Compute images supported with the CodeBuild-hosted GitHub Actions runner".
RUNNER_IMAGE = "aws/codebuild/standard:7.0"
RUNNER_COMPUTE = "BUILD_GENERAL1_MEDIUM"  # 4 vCPU, 7 GiB: a whole stack's preview and update
WORKFLOW_JOB_QUEUED = "WORKFLOW_JOB_QUEUED"


def runner_project_name(environment: str) -> str:
    return f"mlplat-{environment}-deploy-runner"


def runner_label(project_name: str) -> str:
    """The `runs-on` label a workflow job uses to run on this project (CodeBuild's format)."""
    return f"codebuild-{project_name}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


def connection_service(connection_arn: str) -> str:
    """The IAM service prefix of a connection's actions: the one its ARN carries. Connections made
    before July 2024 (and by some consoles since) are ``codestar-connections:`` ARNs, newer ones
    ``codeconnections:``, and IAM matches an action only to resources of its own prefix (Developer
    Tools console user guide, "Identity and access management for ... AWS CodeConnections":
    "When specifying a resource in the IAM policy, the service prefix needs to match that of the
    resource")."""
    return connection_arn.split(":")[2]


def runner_statements(
    *, project_name: str, connection_arn: str, subnet_arns: Sequence[str], region: str, account: str
) -> list[Statement]:
    """What a VPC build that is a GitHub Actions runner needs (CodeBuild user guide: "Allow
    CodeBuild to interact with other AWS services", "Use AWS CodeBuild with Amazon VPC")."""
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/{project_name}"
    return [
        Statement(
            "WriteBuildLogs",
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            (log_group, f"{log_group}:*"),
        ),
        Statement(
            "UseGitHubConnection",
            tuple(
                f"{connection_service(connection_arn)}:{action}"
                for action in ("GetConnectionToken", "GetConnection")
            ),
            (connection_arn,),
        ),
        Statement(
            "DescribeVpcForBuilds",  # Describe calls support no resource-level permissions
            (
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ),
            ("*",),
        ),
        Statement(
            "BuildNetworkInterfaces",
            ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"),
            ("*",),  # the interface's id is not known before it exists
        ),
        Statement(
            "AttachInterfacesInTheRunnerSubnets",
            ("ec2:CreateNetworkInterfacePermission",),
            (f"arn:aws:ec2:{region}:{account}:network-interface/*",),
            conditions={
                "StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                "ArnEquals": {"ec2:Subnet": tuple(subnet_arns)},
            },
        ),
    ]


class DeployRunner(PlatformComponent):
    TYPE = "mlplat:ci:DeployRunner"

    def __init__(
        self,
        name: str,
        *,
        project_name: str,
        repository: str,
        connection_arn: str,
        vpc_id: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        cluster_security_group_id: pulumi.Input[str],
        region: str,
        account: pulumi.Input[str],
        opts=None,
    ) -> None:
        """``repository``: ``owner/name`` on GitHub; ``subnet_ids``: private subnets with NAT."""
        super().__init__(name, opts=opts)
        self.project_name = project_name
        self.security_group = self._create_security_group(name, vpc_id, cluster_security_group_id)
        role, policy = self._create_role(
            name, project_name, connection_arn, subnet_ids, region, account
        )
        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=project_name,
            description="GitHub Actions runner for the deploy workflow, inside the VPC",
            service_role=role.arn,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB",
                location=f"https://github.com/{repository}.git",
                auth=aws.codebuild.ProjectSourceAuthArgs(
                    type="CODECONNECTIONS", resource=connection_arn
                ),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type="LINUX_CONTAINER", compute_type=RUNNER_COMPUTE, image=RUNNER_IMAGE
            ),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=vpc_id,
                subnets=list(subnet_ids),
                security_group_ids=[self.security_group.id],
            ),
            build_timeout=120,  # minutes: a stack's update, with room for a cluster upgrade
            # CodeBuild checks the role's VPC permissions when the project is created.
            opts=self.child_opts(depends_on=[policy]),
        )
        self.webhook = aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[
                aws.codebuild.WebhookFilterGroupArgs(
                    filters=[
                        aws.codebuild.WebhookFilterGroupFilterArgs(
                            type="EVENT", pattern=WORKFLOW_JOB_QUEUED
                        )
                    ]
                )
            ],
            opts=self.child_opts(),
        )
        self.label = runner_label(project_name)
        self.register_outputs(
            {"projectName": self.project.name, "securityGroupId": self.security_group.id}
        )

    def _create_security_group(
        self, name: str, vpc_id, cluster_security_group_id
    ) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc_id,
            description="Deploy runner: HTTPS out to GitHub, registries, AWS and the cluster API",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=["0.0.0.0/0"],
                    description="HTTPS",
                )
            ],
            opts=self.child_opts(),
        )
        # The API server's private endpoint carries the cluster security group.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-to-cluster-api",
            security_group_id=cluster_security_group_id,
            referenced_security_group_id=group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="Kubernetes API from the deploy runner",
            opts=self.child_opts(),
        )
        return group

    def _create_role(self, name, project_name, connection_arn, subnet_ids, region, account):
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role(Principal.service("codebuild.amazonaws.com")),
            opts=self.child_opts(),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=render_output(
                lambda account_id, *subnets: runner_statements(
                    project_name=project_name,
                    connection_arn=connection_arn,
                    subnet_arns=[
                        f"arn:aws:ec2:{region}:{account_id}:subnet/{subnet}" for subnet in subnets
                    ],
                    region=region,
                    account=account_id,
                ),
                account,
                *subnet_ids,
            ),
            opts=self.child_opts(),
        )
        return role, policy
