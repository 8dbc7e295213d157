"""``gateway serve`` terminating TLS with client certificates (RFC 8705 mutual TLS).

uvicorn verifies a client certificate in the handshake against one trust store, but does not
hand the certificate to the application. Two additions, written here because no server option
does either:

- :class:`TLSServerConfig` gives each connection's protocol the ASGI TLS extension
  (``scope["extensions"]["tls"]["client_cert_chain"]``, the presented certificate in PEM), which
  :mod:`gateway.auth.certificates` reads;
- the handshake's trust store holds the configured client CA bundle (PKIoverheid-like chains,
  ``tls_client_auth``) and every registered self-signed certificate
  (``self_signed_tls_client_auth``; Python's ``ssl`` cannot ask for a certificate without
  verifying it). :data:`trust` adds a certificate registered later to the live store of every
  server context in this process; other processes and replicas add it at their next refresh
  (:func:`refresh_periodically`, every ``GATEWAY_TLS_TRUST_REFRESH`` seconds).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import load_der_x509_certificate
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from gateway.background import to_completion
from gateway.settings import Settings

log = structlog.get_logger(__name__)

ASGIApp = Callable[..., Any]
GRACEFUL_SHUTDOWN_SECONDS = 10


class ClientTrust:
    """The server contexts of this process and the self-signed certificates they trust."""

    def __init__(self) -> None:
        self._contexts: list[ssl.SSLContext] = []
        self._trusted: set[str] = set()  # PEM text

    def attach(self, context: ssl.SSLContext) -> None:
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a trusted leaf is an anchor
        for pem in self._trusted:
            context.load_verify_locations(cadata=pem)
        self._contexts.append(context)

    def add(self, pems: list[str]) -> None:
        for pem in pems:
            if pem in self._trusted:
                continue
            self._trusted.add(pem)
            for context in self._contexts:
                context.load_verify_locations(cadata=pem)

    @property
    def serving(self) -> bool:
        return bool(self._contexts)


trust = ClientTrust()


def with_tls_extension(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``protocol`` whose requests carry the connection's client certificate as the ASGI TLS
    extension (https://asgi.readthedocs.io/en/latest/specs/tls.html)."""

    class TLSExtensionProtocol(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            chain = [_pem(der)] if der else []
            app: ASGIApp = self.app  # type: ignore[has-type]

            async def tls_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
                if scope["type"] == "http":
                    extensions = scope.setdefault("extensions", {})
                    extensions["tls"] = {"client_cert_chain": chain}
                await app(scope, receive, send)

            self.app = tls_app

    return TLSExtensionProtocol


def _pem(der: bytes) -> str:
    return load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode("ascii")


class TLSServerConfig(uvicorn.Config):
    """uvicorn's configuration with client certificates passed to the app and trusted as above.
    Each worker process loads its own (and so attaches its own context)."""

    def load(self) -> None:
        super().load()
        if self.ssl is not None:
            self.http_protocol_class = with_tls_extension(self.http_protocol_class)
            trust.attach(self.ssl)


def serve(app: str, settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run ``app`` (a factory's import string) with uvicorn, over TLS asking for client
    certificates when ``settings`` name a server certificate."""
    tls: dict[str, Any] = {}
    if settings.tls_cert_file is not None:
        tls = {
            "ssl_certfile": settings.tls_cert_file,
            "ssl_keyfile": settings.tls_key_file,
            "ssl_ca_certs": settings.tls_client_ca_file,
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        }
    config = TLSServerConfig(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # A client that keeps an idle TLS connection open never answers the close; stop anyway.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **tls,
    )
    if workers > 1:
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
        # A worker that failed to start stops the others, and uvicorn then returns as from a
        # clean shutdown: exit non-zero, so a supervisor or orchestrator sees the failure.
        if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
            raise SystemExit(STARTUP_FAILURE)
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


async def refresh_periodically(interval: float, registered: Callable[[], list[str]]) -> None:
    """Keep the handshake's trust in step with the registered self-signed certificates."""
    while True:
        try:
            trust.add(await to_completion(registered))
        except Exception as exc:
            log.warning("tls_trust_refresh_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)
