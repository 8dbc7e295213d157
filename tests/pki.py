"""Certificates made by the test setup: a PKIoverheid-like chain (a private root, an
organisation CA under it, and client certificates with the organisation's OIN in the subject's
``serialNumber``), self-signed client certificates, and a server certificate for 127.0.0.1."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def write(self, directory: Path, name: str) -> tuple[str, str]:
        """The certificate and its key as PEM files: (certificate path, key path)."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_text(self.pem)
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return str(cert_path), str(key_path)


def _name(
    common_name: str, organisation: str | None = None, serial: str | None = None
) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "NL")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if serial:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool,
    usage: list[x509.ObjectIdentifier] | None = None,
    san: x509.GeneralName | None = None,
    days: int = 30,
    extensions: tuple[x509.ExtensionType, ...] = (),
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    issuer_name = issuer.certificate.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    root: Issued
    organisation_ca: Issued
    server: Issued

    @classmethod
    def make(cls, name: str = "Staat der Nederlanden Private Root CA - TEST") -> Pki:
        root = _issue(_name(name, "Staat der Nederlanden"), None, ca=True)
        organisation_ca = _issue(
            _name("Domein Private Services CA - TEST", "Staat der Nederlanden"), root, ca=True
        )
        server = _issue(
            _name("127.0.0.1", "Kindkoppeling"),
            organisation_ca,
            ca=False,
            usage=[ExtendedKeyUsageOID.SERVER_AUTH],
            san=x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        )
        return cls(root, organisation_ca, server)

    def client(
        self,
        oin: str,
        organisation: str,
        system: str = "LVS koppeling",
        *,
        crl: str | None = None,
        ocsp: str | None = None,
    ) -> Issued:
        """A client certificate with the OIN in the subject's serialNumber; with ``crl`` and
        ``ocsp``, the addresses where its CA publishes its status (CRL distribution point and
        AIA OCSP responder)."""
        extensions: list[x509.ExtensionType] = []
        if crl is not None:
            name = x509.UniformResourceIdentifier(crl)
            point = x509.DistributionPoint([name], None, None, None)
            extensions.append(x509.CRLDistributionPoints([point]))
        if ocsp is not None:
            location = x509.UniformResourceIdentifier(ocsp)
            access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP, location)
            extensions.append(x509.AuthorityInformationAccess([access]))
        return _issue(
            _name(system, organisation, oin),
            self.organisation_ca,
            ca=False,
            usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
            san=x509.DNSName(f"{oin}.koppeling.test"),
            extensions=tuple(extensions),
        )

    def ocsp_responder(self) -> Issued:
        """A responder certificate the organisation CA made for OCSP signing (delegated)."""
        return _issue(
            _name("Domein Private Services OCSP - TEST", "Staat der Nederlanden"),
            self.organisation_ca,
            ca=False,
            usage=[ExtendedKeyUsageOID.OCSP_SIGNING],
        )

    def bundle(self) -> str:
        """The CA certificates a relying party trusts: root and organisation CA."""
        return self.root.pem + self.organisation_ca.pem


def self_signed(system: str, organisation: str) -> Issued:
    return _issue(
        _name(system, organisation), None, ca=False, usage=[ExtendedKeyUsageOID.CLIENT_AUTH]
    )
