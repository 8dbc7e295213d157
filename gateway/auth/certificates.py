"""Client certificates (RFC 8705): where a request's certificate comes from, what identifies it,
and whether a PKIoverheid-like chain vouches for it.

A request's certificate is the one its TLS connection presented (the ASGI TLS extension, which
``gateway serve`` fills in, :mod:`gateway.tls`), or, only when ``GATEWAY_TLS_CLIENT_CERT_HEADER``
names a header, the certificate a reverse proxy put there (URL-escaped PEM, as nginx's
``$ssl_client_escaped_cert``); then the header is the only source, and the proxy must overwrite
it on every request. A certificate is identified by its SHA-256 thumbprint (``x5t#S256``,
base64url) and, for one from a PKI, by the ``serialNumber`` of its subject, which in
PKIoverheid certificates is the organisation's OIN.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError


class CertificateError(ValueError):
    """A certificate that is malformed, or that no trusted chain vouches for."""


def load_pem(text: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CertificateError("This is not one X.509 certificate in PEM.") from exc


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode("ascii")


def thumbprint(certificate: x509.Certificate) -> str:
    """RFC 8705 §3.1 ``x5t#S256``: base64url SHA-256 of the DER certificate."""
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def subject_serial(certificate: x509.Certificate) -> str | None:
    """The subject's ``serialNumber`` (2.5.4.5): the OIN in a PKIoverheid certificate."""
    found = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(found[0].value) if found else None


def is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@lru_cache(maxsize=4)
def _trust_store(bundle: Path, modified: float) -> Store:
    """The CA certificates of ``bundle`` (reread when the file changes)."""
    roots = x509.load_pem_x509_certificates(bundle.read_bytes())
    return Store(roots)


def verify_chain(certificate: x509.Certificate, bundle: Path | None) -> None:
    """Check that the CA certificates of ``bundle`` vouch for ``certificate`` as a TLS client
    certificate (signature chain, validity, key usage); raise CertificateError."""
    if bundle is None:
        raise CertificateError(
            "No client CA bundle is configured (GATEWAY_TLS_CLIENT_CA_FILE), so no "
            "certificate from a PKI can be trusted."
        )
    store = _trust_store(bundle, bundle.stat().st_mtime)
    verifier = PolicyBuilder().store(store).time(datetime.now(UTC)).build_client_verifier()
    try:
        verifier.verify(certificate, [])
    except VerificationError as exc:
        raise CertificateError(f"No trusted chain vouches for this certificate: {exc}") from exc


def from_scope(scope: MutableMapping[str, Any], header: str | None) -> x509.Certificate | None:
    """The client certificate of a request: its TLS connection's, or with ``header`` set, the
    reverse proxy's header (and then only that). A header that does not parse is no
    certificate."""
    if header is not None:
        wanted = header.lower().encode("latin-1")
        for name, value in scope.get("headers", []):
            if name == wanted:
                try:
                    return load_pem(unquote(value.decode("latin-1")))
                except CertificateError:
                    return None
        return None
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return load_pem(chain[0]) if chain else None
