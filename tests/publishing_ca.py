"""The test PKI's organisation CA as a real CA runs it: it publishes its CRL (DER, RFC 5280) and
answers OCSP (RFC 6960) over HTTP on a loopback port, both built and signed with
``cryptography``. The test revokes certificates, marks them unknown to the responder, lets the
CRL's nextUpdate pass, or takes the service off the network."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.loopback import serving, url_of
from tests.pki import Issued, Pki


@dataclass
class PublishingCa:
    pki: Pki
    url: str = ""
    reachable: bool = True
    crl_valid_for: timedelta = timedelta(hours=1)
    revoked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)  # serials the responder does not know
    delegated: Issued | None = None  # an OCSP signing certificate, or None: the CA signs
    forged_good: bool = False  # the responder says "good" whatever the CA revoked
    issued: dict[int, x509.Certificate] = field(default_factory=dict)
    crl_fetches: int = 0
    ocsp_requests: int = 0

    @property
    def crl_url(self) -> str:
        return f"{self.url}/ca.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.url}/ocsp"

    def client(self, oin: str, organisation: str, *, ocsp: bool = False) -> Issued:
        """A client certificate naming this CA's CRL (and, with ``ocsp``, its responder)."""
        issued = self.pki.client(
            oin, organisation, crl=self.crl_url, ocsp=self.ocsp_url if ocsp else None
        )
        self.issued[issued.certificate.serial_number] = issued.certificate
        return issued

    def revoke(self, issued: Issued) -> None:
        self.revoked.add(issued.certificate.serial_number)

    def crl(self) -> bytes:
        ca, now = self.pki.organisation_ca, datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + self.crl_valid_for)
        )
        for serial in sorted(self.revoked):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(seconds=1))
                .build()
            )
        return builder.sign(ca.key, hashes.SHA256()).public_bytes(Encoding.DER)

    def ocsp_answer(self, request_der: bytes) -> bytes:
        ca, now = self.pki.organisation_ca, datetime.now(UTC)
        request = ocsp.load_der_ocsp_request(request_der)
        certificate = self.issued[request.serial_number]
        serial = request.serial_number
        status = (
            ocsp.OCSPCertStatus.GOOD
            if self.forged_good
            else ocsp.OCSPCertStatus.UNKNOWN
            if serial in self.unknown
            else ocsp.OCSPCertStatus.REVOKED
            if serial in self.revoked
            else ocsp.OCSPCertStatus.GOOD
        )
        revoked = status == ocsp.OCSPCertStatus.REVOKED
        signer = self.delegated or ca
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=certificate,
            issuer=ca.certificate,
            algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash the request used
            cert_status=status,
            this_update=now - timedelta(minutes=1),
            next_update=now + timedelta(hours=1),
            revocation_time=now - timedelta(seconds=1) if revoked else None,
            revocation_reason=None,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.certificate)
        if self.delegated is not None:
            builder = builder.certificates([self.delegated.certificate])
        return builder.sign(signer.key, hashes.SHA256()).public_bytes(Encoding.DER)


@contextmanager
def publishing(pki: Pki) -> Iterator[PublishingCa]:
    ca = PublishingCa(pki)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not ca.reachable or self.path != "/ca.crl":
                self.send_error(503 if not ca.reachable else 404)
                return
            ca.crl_fetches += 1
            self._send(ca.crl(), "application/pkix-crl")

        def do_POST(self) -> None:
            if not ca.reachable or self.path != "/ocsp":
                self.send_error(503 if not ca.reachable else 404)
                return
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ca.ocsp_requests += 1
            self._send(ca.ocsp_answer(body), "application/ocsp-response")

        def _send(self, body: bytes, media_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    with serving(Handler) as server:
        ca.url = url_of(server)
        yield ca
