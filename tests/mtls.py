"""``gateway serve`` terminating mutual TLS on a loopback port, in its own process, on the test's
database and keys (so its tokens and the in-process app's are alike), with a PKIoverheid-like
chain made by the test setup (:mod:`tests.pki`)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from gateway.organisations import certificates
from gateway.settings import Settings
from gateway.tls import GRACEFUL_SHUTDOWN_SECONDS
from tests.factories import TEST_ACTOR, RegisteredClient
from tests.pki import Issued, Pki
from tests.portal.live import free_port

GATEWAY = str(Path(sys.executable).parent / "gateway")


@dataclass
class MutualTLSGateway:
    url: str
    pki: Pki
    directory: Path
    bundle: Path  # the client CA bundle the gateway trusts
    settings: Settings

    def client(self, certificate: Issued | None = None) -> httpx.Client:
        """An HTTPS client trusting the test PKI, presenting ``certificate`` (or none)."""
        context = ssl.create_default_context(cadata=self.pki.bundle())
        if certificate is not None:
            name = certificate.certificate.serial_number
            context.load_cert_chain(*certificate.write(self.directory, f"client-{name}"))
        return httpx.Client(base_url=self.url, verify=context, timeout=10)

    def enrol(self, session: Session, organisation_id: str, oin: str, name: str) -> Issued:
        """A client certificate from the test PKI with ``oin``, registered for the organisation
        (as the operator would, through the service)."""
        certificate = self.pki.client(oin, name)
        certificates.add_certificate(
            session, organisation_id, certificate.pem, actor=TEST_ACTOR, ca_bundle=self.bundle
        )
        return certificate

    def token(
        self,
        registered: RegisteredClient,
        certificate: Issued,
        *,
        staff: bool = True,
    ) -> httpx.Response:
        """Ask for a token over mutual TLS, the certificate authenticating the client (RFC 8705
        §2): on behalf of its staff member (token exchange) or, without ``staff``, its own."""
        if staff:
            form = registered.staff_form()
            for name in ("client_assertion", "client_assertion_type"):
                del form[name]
        else:
            form = {"grant_type": "client_credentials"}
        form["client_id"] = registered.organisation_id
        with self.client(certificate) as client:
            return client.post("/oauth/token", data=form)


@contextmanager
def serving_mutual_tls(settings: Settings, directory: Path) -> Iterator[MutualTLSGateway]:
    pki = Pki.make()
    server_cert, server_key = pki.server.write(directory, "server")
    bundle = directory / "client-ca.pem"
    bundle.write_text(pki.bundle())
    port = free_port()
    env = os.environ | {
        "GATEWAY_ENVIRONMENT": "dev",
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
        "GATEWAY_PUBLIC_URL": settings.public_url,  # the same issuer and audience as the tests'
        "GATEWAY_TLS_CERT_FILE": server_cert,
        "GATEWAY_TLS_KEY_FILE": server_key,
        "GATEWAY_TLS_CLIENT_CA_FILE": str(bundle),
        "GATEWAY_TLS_TRUST_REFRESH": "1",
        "GATEWAY_MAINTENANCE_INTERVAL": "0",
        "GATEWAY_OUTBOX_INTERVAL": "0",
        "GATEWAY_RATE_LIMIT": "100000/minute",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    gateway = MutualTLSGateway(f"https://127.0.0.1:{port}", pki, directory, bundle, settings)
    log_path = directory / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [GATEWAY, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            with gateway.client() as probe:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if probe.get("/health/live").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError(f"no TLS gateway:\n{log_path.read_text()}")
                    time.sleep(0.2)
            yield gateway
        finally:
            server.terminate()
            try:
                server.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 15)
            except subprocess.TimeoutExpired as exc:
                server.kill()
                server.wait()
                raise AssertionError(
                    f"the TLS gateway did not stop:\n{log_path.read_text()}"
                ) from exc
