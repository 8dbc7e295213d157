"""Revocation of client certificates from a PKI: the CRL at the certificate's distribution
point (RFC 5280 §4.2.1.13, §5) and, where configured, OCSP at its AIA responder (RFC 6960).

A PKIoverheid certificate that its holder reports stolen is revoked by its CA; from then on it
gets no token, and the tokens bound to it stop working at the next refresh. Self-signed
certificates have no CA: removing their registration is how they end.

Each process keeps the CRLs it has fetched, by distribution point, and uses one until its
``nextUpdate``; the background refresh (``GATEWAY_TLS_REVOCATION_REFRESH`` seconds, see
:func:`refresh_periodically`) fetches every known CRL again, so a revocation takes effect
within one refresh. A CRL is only believed when its issuer's key from the client CA bundle
signed it. When no current CRL can be had, the last one is still used until ``nextUpdate`` plus
``GATEWAY_TLS_CRL_GRACE``; after that the CA is *stale*: its certificates are refused (fail
closed), unless ``GATEWAY_TLS_REVOCATION_SOFT_FAIL`` lets them through. Stale CAs show in
``/health/ready`` and in the metrics.

With ``GATEWAY_TLS_OCSP``, the responder named in the certificate is asked first (its answer
signed by the issuer, or by a responder certificate the issuer made for OCSP signing), and
its answer kept until its ``nextUpdate``; "revoked" and "unknown" are refusals, and only a
responder that cannot be reached sends the check on to the CRL.

Written here because no maintained Python library checks revocation for a relying party:
``cryptography`` parses and verifies CRLs and OCSP responses, this module fetches, caches and
decides.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import httpx
import structlog
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from gateway.auth.certificates import CertificateError
from gateway.background import to_completion
from gateway.settings import Settings

log = structlog.get_logger(__name__)

FETCH_TIMEOUT = 5.0
OCSP_REQUEST = "application/ocsp-request"


@dataclass(frozen=True)
class _Crl:
    issuer: x509.Name
    revoked: frozenset[int]
    next_update: datetime


@dataclass(frozen=True)
class _OcspAnswer:
    status: ocsp.OCSPCertStatus
    until: datetime
    certificate: x509.Certificate  # what was asked about, to ask again in the background
    issuer: x509.Certificate


class Revocation:
    """The revocation status of PKI client certificates, for one process."""

    def __init__(
        self,
        bundle: Path | None,
        *,
        grace: timedelta,
        soft_fail: bool = False,
        use_ocsp: bool = False,
        refresh: timedelta = timedelta(minutes=5),
    ) -> None:
        self._bundle = bundle
        self._grace = grace
        self._soft_fail = soft_fail
        self._use_ocsp = use_ocsp
        self._refresh = refresh
        self._crls: dict[str, _Crl] = {}  # by distribution point
        self._issuers: dict[str, x509.Certificate] = {}  # the CA of each distribution point
        self._ocsp: dict[tuple[str, int], _OcspAnswer] = {}
        self._lock = threading.Lock()

    def check(self, certificate: x509.Certificate) -> None:
        """Raise CertificateError when ``certificate`` is revoked, or when its status cannot
        be known and the check fails closed. A certificate of no CA in the bundle has nothing
        to check against: it authenticates nobody, and can only bind a private_key_jwt token.
        Fetches only what no cache holds (blocking I/O: call it off the event loop)."""
        issuer = self._issuer_of(certificate)
        if issuer is None:
            return
        if self._use_ocsp and (responder := _ocsp_url(certificate)) is not None:
            status = self._ocsp_status(certificate, issuer, responder)
            if status == ocsp.OCSPCertStatus.GOOD:
                return
            if status == ocsp.OCSPCertStatus.REVOKED:
                raise CertificateError("The certificate is revoked (OCSP).")
            if status == ocsp.OCSPCertStatus.UNKNOWN:
                raise CertificateError("The OCSP responder does not know this certificate.")
        points = _distribution_points(certificate)
        if not points:
            return  # the CA publishes no CRL for it: nothing to check against
        crl = self._current_crl(points, issuer)
        if crl is None:
            if self._soft_fail:
                log.warning("crl_unavailable_soft_fail", ca=issuer.subject.rfc4514_string())
                return
            raise CertificateError(
                "The revocation status of this certificate cannot be checked: no current CRL "
                "of its CA could be fetched."
            )
        if certificate.serial_number in crl.revoked:
            raise CertificateError("The certificate is revoked (CRL).")

    def refresh(self) -> None:
        """Fetch every known CRL again, and ask the responders about every certificate they
        answered for (the background refresh), so a check on a request's path finds a fresh
        answer. A CRL that cannot be fetched is kept; an OCSP answer that cannot be had again
        is dropped, and the next check asks, or falls back to the CRL."""
        with self._lock:
            known = dict(self._issuers)
            answered = dict(self._ocsp)
        for point, issuer in known.items():
            self._fetch_crl(point, issuer)
        for (responder, serial), kept in answered.items():
            if self._ask_ocsp(kept.certificate, kept.issuer, responder) is None:
                with self._lock:
                    self._ocsp.pop((responder, serial), None)

    def stale(self) -> list[str]:
        """The CAs (subject names) whose last CRL is past nextUpdate plus the grace period."""
        now = datetime.now(UTC)
        with self._lock:
            return sorted(
                {
                    crl.issuer.rfc4514_string()
                    for crl in self._crls.values()
                    if crl.next_update + self._grace < now
                }
            )

    @property
    def fails_closed(self) -> bool:
        return not self._soft_fail

    @property
    def interval(self) -> float:
        return self._refresh.total_seconds()

    def _issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        if self._bundle is None:
            return None
        for candidate in _authorities(self._bundle, self._bundle.stat().st_mtime):
            if candidate.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return candidate
        return None

    def _current_crl(self, points: list[str], issuer: x509.Certificate) -> _Crl | None:
        """A CRL of one of ``points`` that may be used now: cached before its nextUpdate,
        fetched anew after it, the last one until the grace period has passed."""
        now = datetime.now(UTC)
        for point in points:
            with self._lock:
                cached = self._crls.get(point)
            if cached is not None and now < cached.next_update:
                return cached
            fetched = self._fetch_crl(point, issuer)
            if fetched is not None and now < fetched.next_update + self._grace:
                return fetched
            if cached is not None and now < cached.next_update + self._grace:
                return cached
        return None

    def _fetch_crl(self, point: str, issuer: x509.Certificate) -> _Crl | None:
        with self._lock:
            self._issuers[point] = issuer
        try:
            response = httpx.get(point, timeout=FETCH_TIMEOUT)
            response.raise_for_status()
            crl = _load_crl(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("crl_fetch_failed", point=point, error=type(exc).__name__)
            return None
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            log.warning("crl_not_signed_by_issuer", point=point)
            return None
        next_update = crl.next_update_utc or datetime.now(UTC) + self._refresh
        found = _Crl(crl.issuer, frozenset(r.serial_number for r in crl), next_update)
        with self._lock:
            self._crls[point] = found
        return found

    def _ocsp_status(
        self, certificate: x509.Certificate, issuer: x509.Certificate, responder: str
    ) -> ocsp.OCSPCertStatus | None:
        """The responder's answer (kept until its nextUpdate, and asked again at each
        refresh); None when it cannot be had."""
        with self._lock:
            kept = self._ocsp.get((responder, certificate.serial_number))
        if kept is not None and datetime.now(UTC) < kept.until:
            return kept.status
        return self._ask_ocsp(certificate, issuer, responder)

    def _ask_ocsp(
        self, certificate: x509.Certificate, issuer: x509.Certificate, responder: str
    ) -> ocsp.OCSPCertStatus | None:
        """Ask the responder, and keep a signed answer; None when none can be had."""
        now = datetime.now(UTC)
        # SHA-1 names the certificate in the request, as responders expect (RFC 5019 §2.1.1).
        request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303
        try:
            response = httpx.post(
                responder,
                content=request.build().public_bytes(Encoding.DER),
                headers={"Content-Type": OCSP_REQUEST},
                timeout=FETCH_TIMEOUT,
            )
            response.raise_for_status()
            answer = ocsp.load_der_ocsp_response(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("ocsp_unavailable", responder=responder, error=type(exc).__name__)
            return None
        if (
            answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL
            or answer.serial_number != certificate.serial_number
            or not _signed_for(answer, issuer)
        ):
            log.warning("ocsp_answer_refused", responder=responder)
            return None
        until = answer.next_update_utc or now + self._refresh
        kept = _OcspAnswer(answer.certificate_status, until, certificate, issuer)
        with self._lock:
            self._ocsp[(responder, certificate.serial_number)] = kept
        return answer.certificate_status


@lru_cache(maxsize=4)
def _authorities(bundle: Path, modified: float) -> tuple[x509.Certificate, ...]:
    """The CA certificates of ``bundle`` (read again when the file changes)."""
    return tuple(x509.load_pem_x509_certificates(bundle.read_bytes()))


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _distribution_points(certificate: x509.Certificate) -> list[str]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    return [
        name.value
        for point in points.value
        for name in point.full_name or []
        if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http")
    ]


def _ocsp_url(certificate: x509.Certificate) -> str | None:
    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
    except x509.ExtensionNotFound:
        return None
    for description in access.value:
        if description.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            description.access_location, x509.UniformResourceIdentifier
        ):
            return str(description.access_location.value)
    return None


def _signed_for(answer: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    """The answer is signed by the issuer, or by a responder certificate the issuer made for
    OCSP signing and included in the answer (RFC 6960 §4.2.2.2)."""
    signers = [issuer]
    for responder in answer.certificates:
        try:
            responder.verify_directly_issued_by(issuer)
            usage = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in usage.value:
            signers.append(responder)
    return any(_verifies(signer, answer) for signer in _named(signers, answer))


def _named(
    signers: Iterable[x509.Certificate], answer: ocsp.OCSPResponse
) -> list[x509.Certificate]:
    wanted = []
    for signer in signers:
        if answer.responder_name is not None and signer.subject == answer.responder_name:
            wanted.append(signer)
        elif answer.responder_key_hash is not None:
            key_hash = x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest
            if key_hash == answer.responder_key_hash:
                wanted.append(signer)
    return wanted


def _verifies(signer: x509.Certificate, answer: ocsp.OCSPResponse) -> bool:
    key = signer.public_key()
    algorithm = answer.signature_hash_algorithm
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def from_settings(settings: Settings) -> Revocation:
    return Revocation(
        settings.tls_client_ca_file,
        grace=timedelta(seconds=settings.tls_crl_grace),
        soft_fail=settings.tls_revocation_soft_fail,
        use_ocsp=settings.tls_ocsp,
        refresh=timedelta(seconds=settings.tls_revocation_refresh),
    )


async def refresh_periodically(revocation: Revocation) -> None:
    """The background refresh: every interval, fetch the known CRLs again (in a thread)."""
    while True:
        await asyncio.sleep(revocation.interval)
        try:
            await to_completion(revocation.refresh)
        except Exception as exc:
            log.warning("crl_refresh_failed", error=type(exc).__name__)
