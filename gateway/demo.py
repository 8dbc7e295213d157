"""Demo organisations of every role, with credentials written to a local file (dev only).

The credentials file holds each demo organisation's *private* key, so it is written with mode
0600 and only ever in dev. Running the demo again reuses keys that are still registered.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from audit.entry import Actor
from gateway.auditing.service import organisation_actor
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from gateway.settings import Settings
from gateway.staff.models import StaffMember
from gateway.staff.service import register_staff

CREDENTIALS_FILE_NAME = "demo-credentials.json"
DEMO_ACTOR = Actor(type="system", id="gateway-demo")


@dataclass(frozen=True)
class DemoOrganisation:
    role: OrganisationRole
    name: str
    identifier: str
    gemeente: str | None = None
    region: tuple[str, ...] = ()


# The staff member each demo organisation that exchanges registers: (staff id, name, role).
DEMO_STAFF = {
    OrganisationRole.OPVANG: ("pm-001", "Demo Medewerker", "pedagogisch medewerker"),
    OrganisationRole.SCHOOL: ("ib-001", "Demo Begeleider", "intern begeleider"),
    OrganisationRole.SWV: ("ob-001", "Demo Orthopedagoog", "orthopedagoog"),
    OrganisationRole.LEERPLICHT: ("lpa-001", "Demo Ambtenaar", "leerplichtambtenaar"),
}


DEMO_ORGANISATIONS = (
    DemoOrganisation(OrganisationRole.GATEWAY, "Kindkoppeling Beheer", "90000001"),
    DemoOrganisation(OrganisationRole.OPVANG, "Kinderopvang De Vlinder", "123456789", "GM0344"),
    DemoOrganisation(OrganisationRole.OPVANG, "Vrouwenopvang Het Anker", "87654321", "GM0344"),
    DemoOrganisation(OrganisationRole.SCHOOL, "Basisschool De Regenboog", "12AB", "GM0344"),
    DemoOrganisation(OrganisationRole.SCHOOL, "Het Baken College", "34CD", "GM0344"),
    # Utrecht and Stichtse Vecht (GM1904) form the demo's PO region.
    DemoOrganisation(
        OrganisationRole.SWV,
        "Samenwerkingsverband PO Utrecht",
        "PO2701",
        None,
        ("GM0344", "GM1904"),
    ),
    DemoOrganisation(OrganisationRole.LEERPLICHT, "Leerplicht Gemeente Utrecht", "GM0344"),
    DemoOrganisation(OrganisationRole.LEERPLICHT, "Leerplicht Stichtse Vecht", "GM1904"),
)


def credentials_path(settings: Settings) -> Path:
    return settings.data_dir / CREDENTIALS_FILE_NAME


def seed_demo(session: Session, settings: Settings) -> Path:
    """Register the demo organisations (idempotent) and write their credentials file."""
    if not settings.is_dev:
        raise RuntimeError("demo data exists only in dev; GATEWAY_ENVIRONMENT is production")
    path = credentials_path(settings)
    previous = (
        {c["client_id"]: c for c in load_credentials(path)["organisations"]}
        if (path.exists())
        else {}
    )
    entries: list[dict[str, Any]] = []
    for demo in DEMO_ORGANISATIONS:
        organisation = service.find_by_identifier(session, demo.role, demo.identifier)
        if organisation is None:
            organisation = service.register_organisation(
                session,
                actor=DEMO_ACTOR,
                role=demo.role,
                name=demo.name,
                identifier=demo.identifier,
                gemeente=demo.gemeente,
                region=list(demo.region),
            )
        registered_kids = {k.kid for k in organisation.keys}
        old = previous.get(organisation.id)
        if old and old["kid"] in registered_kids:
            private_jwk = old["private_jwk"]
        else:
            key = ECKey.generate_key("P-256", private=True)
            key.ensure_kid()
            service.add_key(session, organisation.id, key.as_dict(private=False), actor=DEMO_ACTOR)
            private_jwk = key.as_dict(private=True)
        client_secret = secrets.token_urlsafe(24)
        service.set_client_secret(session, organisation.id, client_secret, actor=DEMO_ACTOR)
        entries.append(
            {
                "name": organisation.name,
                "role": organisation.role.value,
                "identifier": organisation.identifier,
                "client_id": organisation.id,
                "kid": private_jwk["kid"],
                "private_jwk": private_jwk,
                "client_secret": client_secret,
                "staff_id": _demo_staff(session, organisation),
            }
        )
    document = {
        "warning": "Demo credentials with private keys. Dev only; never use in production.",
        "token_url": settings.token_url,
        "api_url": f"{settings.public_url}/api/v1",
        "organisations": entries,
    }
    _write_private(path, json.dumps(document, indent=2, ensure_ascii=False))
    return path


def _demo_staff(session: Session, organisation: Organisation) -> str | None:
    """The demo organisation's staff member, registered once (as the organisation itself)."""
    if organisation.role not in DEMO_STAFF:
        return None
    staff_id, display_name, role = DEMO_STAFF[organisation.role]
    if session.get(StaffMember, (organisation.id, staff_id)) is None:
        actor = organisation_actor(organisation.id, organisation.role.value)
        register_staff(session, actor, staff_id, display_name=display_name, role=role)
    return staff_id


def load_credentials(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def find_credentials(document: dict[str, Any], name_or_role: str) -> dict[str, Any]:
    """The first demo organisation whose role, name or identifier matches (case-insensitive)."""
    wanted = name_or_role.casefold()
    for entry in document["organisations"]:
        if wanted in {entry["role"], entry["name"].casefold(), entry["identifier"].casefold()}:
            found: dict[str, Any] = entry
            return found
    names = ", ".join(e["name"] for e in document["organisations"])
    raise LookupError(f"no demo organisation '{name_or_role}'; choose a role or one of: {names}")


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.chmod(0o600)
    temporary.replace(path)
