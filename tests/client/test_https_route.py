"""The client calls an EKS model's load-balanced route over HTTPS, verifying the certificate
against the route's name (a loopback TLS server with its own certificate authority stands in
for the team's load balancer and its ACM certificate)."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.registry_route import Backend, Route, model_path
from mlplat.client import RequestRejected
from tests.client.conftest import ScriptedServer
from tests.client.test_client import MODEL, TEAM, VERSION, make_client


def _certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for ``host`` signed by it: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)

    def build(subject, issuer, key, signer, *, ca: bool, names=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build("test CA", "test CA", ca_key, ca_key, ca=True)
    cert = build(host, "test CA", key, ca_key, ca=False, names=(host,))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[ScriptedServer, Path, str]]:
    ca, cert, key = _certificate(tmp_path, "localhost")
    scripted = ScriptedServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    scripted.httpd.socket = context.wrap_socket(scripted.httpd.socket, server_side=True)
    port = scripted.httpd.server_address[1]
    thread = threading.Thread(target=scripted.httpd.serve_forever, daemon=True)
    thread.start()
    yield scripted, ca, f"https://localhost:{port}"
    scripted.httpd.shutdown()
    scripted.httpd.server_close()
    thread.join(timeout=5)


def _load_balanced(base: str) -> Route:
    return Route(
        Backend.EKS,
        service_url="http://127.0.0.1:9/unreachable",
        load_balancer_url=f"{base}{model_path(MODEL, VERSION)}",
    )


def test_the_client_calls_the_load_balanced_route_over_verified_https(
    registry, tls_server, emitted, monkeypatch
):
    server, ca, base = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the callers' trust store knows the CA
    registry.serve(TEAM, MODEL, VERSION, _load_balanced(base))
    assert make_client(emitted).predict(MODEL, b"{}") == b'{"score": 0.5}'
    (request,) = server.requests
    assert request["path"] == model_path(MODEL, VERSION)


def test_a_certificate_the_caller_cannot_verify_is_rejected_at_once(
    registry, tls_server, emitted, monkeypatch, tmp_path
):
    server, _, base = tls_server
    (tmp_path / "other").mkdir()
    other_ca, _, _ = _certificate(tmp_path / "other", "elsewhere")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))
    registry.serve(TEAM, MODEL, VERSION, _load_balanced(base))
    with pytest.raises(RequestRejected, match="TLS") as rejected:
        make_client(emitted).predict(MODEL, b"{}")
    assert rejected.value.model == MODEL
    assert str(rejected.value).startswith(f"{MODEL}: {base}{model_path(MODEL, VERSION)}: TLS: ")
    assert server.requests == []  # no request went out without a verified certificate
