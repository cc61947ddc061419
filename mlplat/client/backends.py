"""The two ways to call a model: SageMaker runtime (multi-model endpoint) and HTTP (EKS).

Each maps its failures onto the client's errors: throttling and transient faults become
``Retryable`` (the retry loop decides), the model's own failure ``ModelError`` with the backend's
message, a rejected request ``RequestRejected``.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from components.registry_route import Route
from mlplat.client.errors import ModelError, NotAuthorized, RequestRejected
from mlplat.client.retry import Retryable

# InvokeEndpoint's errors (botocore sagemaker-runtime model): ModelNotReadyException (429, a
# multi-model endpoint still loading the target model) is throttling-like; ThrottlingException
# is the API's rate limit; InternalFailure (500), ServiceUnavailable (503) and
# InternalDependencyException (530) are transient; ModelError (424) is the container's answer.
_SAGEMAKER_THROTTLED = {"ThrottlingException", "ModelNotReadyException", "TooManyRequestsException"}
_SAGEMAKER_TRANSIENT = {"InternalFailure", "ServiceUnavailable", "InternalDependencyException"}
_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)


def invoke_sagemaker(
    runtime,
    route: Route,
    model: str,
    payload: bytes,
    content_type: str,
    accept: str,
    inference_id: str,
) -> bytes:
    try:
        response = runtime.invoke_endpoint(
            EndpointName=route.endpoint,
            TargetModel=route.target_model,
            Body=payload,
            ContentType=content_type,
            Accept=accept,
            InferenceId=inference_id,
        )
    except ClientError as error:
        info = error.response.get("Error", {})
        code, message = info.get("Code", ""), info.get("Message", str(error))
        if code in _SAGEMAKER_THROTTLED:
            raise Retryable(f"{code}: {message}", throttled=True) from error
        if code in _SAGEMAKER_TRANSIENT:
            raise Retryable(f"{code}: {message}", throttled=False) from error
        if code == "ModelError":
            original = error.response.get("OriginalMessage") or message
            raise ModelError(model, original, error.response.get("OriginalStatusCode")) from error
        raise RequestRejected(model, f"{code}: {message}") from error
    except _CONNECTION_ERRORS as error:
        raise Retryable(str(error), throttled=False) from error
    return response["Body"].read()


# Over HTTP, 429 is throttling and 502-504 come from proxies and load balancers in front of a
# pod that is gone or not ready; any other error status is the model server's own answer.
_HTTP_TRANSIENT = {502, 503, 504}

Signer = Callable[[urllib.request.Request], None]


def invoke_http(
    url: str,
    model: str,
    payload: bytes,
    content_type: str,
    accept: str,
    inference_id: str,
    timeout: float,
    sign: Signer | None = None,
) -> bytes:
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": content_type,
            "Accept": accept,
            "X-Mlplat-Inference-Id": inference_id,
        },
    )
    if sign is not None:
        sign(request)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        if error.code == 429:
            raise Retryable(f"HTTP 429: {body}", throttled=True) from error
        if error.code in _HTTP_TRANSIENT:
            raise Retryable(f"HTTP {error.code}: {body}", throttled=False) from error
        if error.code in (401, 403):  # the load balancer's token validation, or the server's
            raise NotAuthorized(model, f"HTTP {error.code}: {body}", error.code) from error
        if error.code in (400, 404, 405, 413, 415):
            raise RequestRejected(model, f"HTTP {error.code}: {body}") from error
        raise ModelError(model, body, error.code) from error
    except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
        if isinstance(getattr(error, "reason", None), ssl.SSLCertVerificationError):
            # A certificate that does not match the route's name fails the same way every time.
            raise RequestRejected(model, f"{url}: TLS: {error.reason}") from error
        raise Retryable(f"{url}: {error}", throttled=False) from error


def sigv4_signer(session, service: str, region: str) -> Signer:
    """Signs each request with SigV4 (for a route behind an authorizer that checks it, e.g. API
    Gateway with IAM auth, ``service="execute-api"``). Not needed in-cluster."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    def sign(request: urllib.request.Request) -> None:
        credentials = session.get_credentials().get_frozen_credentials()
        aws_request = AWSRequest(
            method=request.get_method(),
            url=request.full_url,
            data=request.data,
            headers=dict(request.header_items()),
        )
        SigV4Auth(credentials, service, region).add_auth(aws_request)
        for name, value in aws_request.headers.items():
            request.add_header(name, value)

    return sign
