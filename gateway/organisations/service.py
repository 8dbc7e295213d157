"""Registering organisations, suspending them, and managing their client keys.

Each function is one unit of work: it validates, changes the registry and commits.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import record
from gateway.auth.client_secrets import hash_client_secret
from gateway.db import change_once
from gateway.errors import ConflictError, NotFoundError, ValidationFailedError
from gateway.organisations.identifiers import (
    OrganisationRole,
    normalise_gemeente,
    normalise_identifier,
)
from gateway.organisations.models import (
    Organisation,
    OrganisationKey,
    OrganisationStatus,
    RegionGemeente,
)
from gateway.organisations.registry import registry_in

MIN_RSA_BITS = 2048
# Fields a public JWK may carry into the registry; anything else (notably "d") is refused.
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class InvalidKeyError(ValidationFailedError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The key cannot be registered: {reason}",
            errors=[{"pointer": "#/jwk", "detail": reason}],
        )


def register_organisation(
    session: Session,
    *,
    actor: Actor,
    role: OrganisationRole,
    name: str,
    identifier: str,
    gemeente: str | None = None,
    region: list[str] | None = None,
) -> Organisation:
    """Register an organisation. ``gemeente`` is where it is located (a leerplicht office is its
    gemeente); ``region`` lists the gemeenten an SWV serves. Both place exchanges and signals
    in an SWV region for the statistics."""
    try:
        canonical = normalise_identifier(role, identifier)
    except ValueError as exc:
        raise ValidationFailedError(
            f"The identifier does not fit the role {role.value}: {exc}.",
            errors=[{"pointer": "#/identifier", "detail": str(exc)}],
        ) from exc
    organisation = Organisation(role=role, name=name.strip(), identifier=canonical)
    organisation.gemeente_code = _place(role, canonical, gemeente)
    codes = _region(role, region or [])
    _check_region_free(session, canonical, codes)
    organisation.region = [RegionGemeente(gemeente_code=code) for code in codes]
    session.add(organisation)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(
            f"An organisation with role {role.value} and identifier {canonical} is already "
            "registered."
        ) from exc
    record_admin(session, actor, "admin.organisation.register", organisation, role=role.value)
    session.commit()
    return organisation


def _place(role: OrganisationRole, identifier: str, gemeente: str | None) -> str | None:
    if role is OrganisationRole.LEERPLICHT:
        if gemeente is not None and parse_gemeente(gemeente) != identifier:
            raise ValidationFailedError(
                "A leerplicht office is the office of the gemeente its identifier names.",
                errors=[{"pointer": "#/gemeente", "detail": "differs from the identifier"}],
            )
        return identifier
    if gemeente is None:
        return None
    if role in (OrganisationRole.SWV, OrganisationRole.GATEWAY):
        raise ValidationFailedError(
            f"An organisation with role {role.value} has no gemeente; an SWV has a region.",
            errors=[{"pointer": "#/gemeente", "detail": f"not for role {role.value}"}],
        )
    return parse_gemeente(gemeente)


def _region(role: OrganisationRole, gemeenten: list[str]) -> list[str]:
    if gemeenten and role is not OrganisationRole.SWV:
        raise ValidationFailedError(
            "Only a samenwerkingsverband has a region.",
            errors=[{"pointer": "#/region", "detail": f"not for role {role.value}"}],
        )
    return sorted({parse_gemeente(g, f"#/region/{i}") for i, g in enumerate(gemeenten)})


def _check_region_free(session: Session, swv_code: str, gemeenten: list[str]) -> None:
    """A gemeente lies in one PO and one VO region: regions of a sector do not overlap, so
    the regions' counts add up to the whole."""
    if not gemeenten:
        return
    taken = session.scalars(
        select(RegionGemeente.gemeente_code)
        .join(Organisation, Organisation.id == RegionGemeente.swv_id)
        .where(
            RegionGemeente.gemeente_code.in_(gemeenten),
            Organisation.identifier.startswith(swv_code[:2]),
        )
    ).all()
    if taken:
        raise ConflictError(
            f"These gemeenten already lie in another {swv_code[:2]} region: "
            f"{', '.join(sorted(set(taken)))}."
        )


def parse_gemeente(raw: str, pointer: str = "#/gemeente") -> str:
    """A gemeentecode from a request, canonical, or a 422 naming the field."""
    try:
        return normalise_gemeente(raw)
    except ValueError as exc:
        raise ValidationFailedError(
            f"Not a gemeentecode: {exc}.", errors=[{"pointer": pointer, "detail": str(exc)}]
        ) from exc


def list_organisations(
    session: Session,
    *,
    role: OrganisationRole | None = None,
    status: OrganisationStatus | None = None,
) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.name, Organisation.id)
    if role is not None:
        query = query.where(Organisation.role == role)
    if status is not None:
        query = query.where(Organisation.status == status)
    return list(session.scalars(query))


def get_organisation(session: Session, organisation_id: str) -> Organisation:
    organisation = find_organisation(session, organisation_id)
    if organisation is None:
        raise NotFoundError(f"There is no organisation with id {organisation_id}.")
    return organisation


def find_organisation(session: Session, organisation_id: object) -> Organisation | None:
    """Look up by id, through the registry's copies (:mod:`gateway.organisations.registry`);
    anything that is not a UUID (say, a client-supplied NUL byte) is absent."""
    return registry_in(session).organisation(session, organisation_id)


def set_status(
    session: Session, organisation_id: str, status: OrganisationStatus, *, actor: Actor
) -> Organisation:
    """Suspend or reactivate; a suspended organisation gets no tokens and its tokens stop."""
    organisation = get_organisation(session, organisation_id)
    organisation.status = status
    record_admin(session, actor, "admin.organisation.status", organisation, status=status.value)
    session.commit()
    return organisation


def add_key(
    session: Session, organisation_id: str, key: dict[str, Any] | str, *, actor: Actor
) -> OrganisationKey:
    """Register a public key (a JWK object, or PEM text) for ``private_key_jwt``."""
    organisation = get_organisation(session, organisation_id)
    jwk = public_jwk(key)
    if any(existing.kid == jwk["kid"] for existing in organisation.keys):
        raise ConflictError(f"The key {jwk['kid']} is already registered for this organisation.")
    key_record = OrganisationKey(organisation=organisation, kid=jwk["kid"], jwk=jwk)
    session.add(key_record)
    record_admin(session, actor, "admin.organisation.key.add", organisation, kid=jwk["kid"])
    session.commit()
    return key_record


def remove_key(session: Session, organisation_id: str, kid: str, *, actor: Actor) -> None:
    """A key that leaked or was replaced: no new token is issued on it (tokens already issued
    live out their lifetime; suspend the organisation to stop those at once)."""
    organisation = get_organisation(session, organisation_id)
    found = next((k for k in organisation.keys if k.kid == kid), None)
    if found is None:
        raise NotFoundError(f"No key {kid} is registered for this organisation.")
    change_once(
        session,
        delete(OrganisationKey).where(OrganisationKey.id == found.id),
        NotFoundError(f"No key {kid} is registered for this organisation."),
    )
    session.expire(organisation, ["keys"])
    record_admin(session, actor, "admin.organisation.key.remove", organisation, kid=kid)
    session.commit()


def set_client_secret(session: Session, organisation_id: str, secret: str, *, actor: Actor) -> None:
    organisation = get_organisation(session, organisation_id)
    organisation.client_secret_hash = hash_client_secret(secret)
    record_admin(session, actor, "admin.organisation.secret.set", organisation)
    session.commit()


def record_admin(
    session: Session, actor: Actor, action: str, organisation: Organisation, **details: str
) -> None:
    """An operator's change to ``organisation`` on the audit log (the caller commits)."""
    record(
        session,
        Entry(
            action=action,
            actor=actor,
            outcome="success",
            subject=organisation.id,
            extra={"organisation_role": organisation.role.value, **details},
        ),
    )


def find_by_identifier(
    session: Session, role: OrganisationRole, identifier: str
) -> Organisation | None:
    return session.scalar(
        select(Organisation).where(
            Organisation.role == role,
            Organisation.identifier == normalise_identifier(role, identifier),
        )
    )


def public_jwk(key: dict[str, Any] | str) -> dict[str, Any]:
    """Validate a client's public key and return it as a JWK with a ``kid``.

    Accepted: EC P-256 (ES256) and RSA of at least 2048 bits (RS256, PS256). A private key is
    refused outright: it must never leave the organisation that owns it.
    """
    if isinstance(key, str) and "PRIVATE KEY" in key:
        raise InvalidKeyError("this is a private key; register the public key only")
    if isinstance(key, str) and key.strip().startswith("{"):
        try:
            key = json.loads(key)
        except json.JSONDecodeError as exc:
            raise InvalidKeyError("the text is neither a PEM public key nor a JWK") from exc
    if isinstance(key, dict) and _PRIVATE_MEMBERS & key.keys():
        raise InvalidKeyError("this is a private or symmetric key; register the public key only")
    imported = _import_public_key(key)
    if isinstance(imported, ECKey) and imported.curve_name != "P-256":
        raise InvalidKeyError("EC keys must use the P-256 curve (ES256)")
    if isinstance(imported, RSAKey) and imported.raw_value.key_size < MIN_RSA_BITS:
        raise InvalidKeyError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    imported.ensure_kid()
    result: dict[str, Any] = imported.as_dict(private=False)
    return result


def _import_public_key(key: dict[str, Any] | str) -> ECKey | RSAKey:
    key_types: tuple[type[ECKey] | type[RSAKey], ...] = (ECKey, RSAKey)
    if isinstance(key, dict):
        by_kty: dict[str, type[ECKey] | type[RSAKey]] = {"EC": ECKey, "RSA": RSAKey}
        if key.get("kty") not in by_kty:
            raise InvalidKeyError("only EC P-256 and RSA keys are accepted")
        key_types = (by_kty[key["kty"]],)
    for key_type in key_types:
        try:
            # joserfc warns about small RSA keys; public_jwk refuses them with a clear reason.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SecurityWarning)
                return key_type.import_key(key)
        except (JoseError, ValueError, TypeError):
            continue
    raise InvalidKeyError("the key is not a valid EC P-256 or RSA public key (PEM or JWK)")


def organisation_names(session: Session, ids: list[str]) -> dict[str, str]:
    """Display names of the organisations with these ids (unknown ids are left out)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(set(ids)))
    )
    return {row.id: row.name for row in rows}


def leerplicht_of(session: Session, gemeente: str) -> Organisation | None:
    """The active leerplicht office of a gemeente (its identifier is the gemeentecode)."""
    found = find_by_identifier(session, OrganisationRole.LEERPLICHT, gemeente)
    return found if found is not None and found.is_active else None


def swvs_serving(session: Session, gemeente: str) -> list[Organisation]:
    """The active SWVs whose region includes the gemeente (one PO and one VO, at most)."""
    return list(
        session.scalars(
            select(Organisation)
            .join(RegionGemeente, RegionGemeente.swv_id == Organisation.id)
            .where(
                RegionGemeente.gemeente_code == gemeente,
                Organisation.status == OrganisationStatus.ACTIVE,
            )
            .order_by(Organisation.identifier)
        )
    )
