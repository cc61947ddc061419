"""MSK IAM authentication for librdkafka: SASL/OAUTHBEARER with a token signed by the pod's role.

MSK's IAM access control accepts, over SASL_SSL on port 9098, an OAUTHBEARER token that is a
SigV4-presigned ``kafka-cluster:Connect`` request (aws-msk-iam-sasl-signer-python; MSK Developer
Guide, "IAM access control": clients other than Java use the signer libraries). The signer takes
credentials from the default chain: in the pod, IRSA's web identity token and role
(``AWS_ROLE_ARN``, ``AWS_WEB_IDENTITY_TOKEN_FILE``, set by the EKS pod identity webhook).
librdkafka calls the callback from ``poll()`` before connecting and again before the token
expires (15 minutes)."""

from __future__ import annotations

from collections.abc import Callable

from aws_msk_iam_sasl_signer import MSKAuthTokenProvider


def oauth_callback(region: str) -> Callable[[str | None], tuple[str, float]]:
    """confluent-kafka's ``oauth_cb``: (token, expiry in seconds since the epoch)."""

    def token(_config: str | None) -> tuple[str, float]:
        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return value, expiry_ms / 1000

    return token


def msk_iam_config(bootstrap_servers: str, region: str) -> dict:
    """The producer's connection to MSK: TLS, IAM auth, and nothing that lets it write twice."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth_callback(region),
    }
