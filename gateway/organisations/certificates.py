"""Registering an organisation's client certificates for mutual TLS (RFC 8705), and matching a
presented certificate against them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.auth.certificates import (
    CertificateError,
    is_self_signed,
    load_pem,
    pem_of,
    subject_serial,
    thumbprint,
    verify_chain,
)
from gateway.db import change_once
from gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from gateway.organisations.models import Organisation, OrganisationCertificate
from gateway.organisations.service import get_organisation, record_admin

TLS_CLIENT_AUTH = "tls_client_auth"
SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"


class InvalidCertificateError(ValidationFailedError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The certificate cannot be registered: {reason}",
            errors=[{"pointer": "#/certificate", "detail": reason}],
        )


def add_certificate(
    session: Session, organisation_id: str, pem: str, *, actor: Actor, ca_bundle: Path | None
) -> OrganisationCertificate:
    """Register a client certificate: a self-signed one as it is; one from a PKI only when the
    configured CA bundle vouches for it and its subject carries a serialNumber (the OIN)."""
    organisation = get_organisation(session, organisation_id)
    try:
        certificate = load_pem(pem)
        self_signed = is_self_signed(certificate)
        if not self_signed:
            verify_chain(certificate, ca_bundle)
    except CertificateError as exc:
        raise InvalidCertificateError(str(exc)) from exc
    not_after = certificate.not_valid_after_utc
    if not_after <= datetime.now(UTC):
        raise InvalidCertificateError("it has expired.")
    serial = subject_serial(certificate)
    if not self_signed and not serial:
        raise InvalidCertificateError(
            "a PKI certificate must carry the organisation's OIN as the subject's serialNumber."
        )
    print_ = thumbprint(certificate)
    if session.scalar(select(OrganisationCertificate).filter_by(thumbprint=print_)) is not None:
        raise ConflictError("This certificate is already registered.")
    if serial and not self_signed:
        holder = session.scalar(
            select(OrganisationCertificate.organisation_id).where(
                OrganisationCertificate.subject_serial == serial,
                OrganisationCertificate.self_signed.is_(False),
                OrganisationCertificate.organisation_id != organisation.id,
            )
        )
        if holder is not None:
            raise ConflictError(f"The OIN {serial} belongs to another organisation here.")
    registered = OrganisationCertificate(
        organisation_id=organisation.id,
        thumbprint=print_,
        subject_serial=serial,
        self_signed=self_signed,
        pem=pem_of(certificate),
        not_after=not_after,
    )
    session.add(registered)
    method = SELF_SIGNED_TLS_CLIENT_AUTH if self_signed else TLS_CLIENT_AUTH
    record_admin(
        session,
        actor,
        "admin.organisation.certificate.add",
        organisation,
        thumbprint=print_,
        method=method,
    )
    session.commit()
    return registered


def remove_certificate(
    session: Session, organisation_id: str, print_: str, *, actor: Actor
) -> None:
    """A certificate that leaked or was replaced authenticates the organisation no more (tokens
    already bound to it live out their lifetime; suspend the organisation to stop those)."""
    organisation = get_organisation(session, organisation_id)
    found = next((c for c in organisation.certificates if c.thumbprint == print_), None)
    if found is None:
        raise NotFoundError(f"No certificate {print_} is registered for this organisation.")
    change_once(
        session,
        delete(OrganisationCertificate).where(OrganisationCertificate.id == found.id),
        NotFoundError(f"No certificate {print_} is registered for this organisation."),
    )
    session.expire(organisation, ["certificates"])
    record_admin(
        session, actor, "admin.organisation.certificate.remove", organisation, thumbprint=print_
    )
    session.commit()


def matching(
    organisation: Organisation, certificate: x509.Certificate, method: str
) -> OrganisationCertificate | None:
    """The organisation's registration ``certificate`` authenticates it under with ``method``:
    for a self-signed one the very certificate, for a PKI one any under the same OIN (its
    chain and validity are checked by the caller). Never an expired one."""
    wanted_self_signed = method == SELF_SIGNED_TLS_CLIENT_AUTH
    serial, print_ = subject_serial(certificate), thumbprint(certificate)
    now = datetime.now(UTC)
    if certificate.not_valid_after_utc <= now:
        return None
    for registered in organisation.certificates:
        if registered.self_signed != wanted_self_signed:
            continue
        if wanted_self_signed and registered.thumbprint == print_:
            return registered
        if not wanted_self_signed and serial is not None and registered.subject_serial == serial:
            return registered
    return None


def self_signed_pems(session: Session) -> list[str]:
    """Every registered self-signed certificate: the TLS handshake must trust them."""
    return list(
        session.scalars(
            select(OrganisationCertificate.pem).where(OrganisationCertificate.self_signed)
        )
    )
