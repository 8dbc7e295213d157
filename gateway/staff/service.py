"""Registering, changing and removing staff members; every change is on the audit log."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit.entry import Actor, Entry
from gateway.auditing.service import record
from gateway.db import change_once, utcnow
from gateway.errors import ConflictError, NotFoundError
from gateway.organisations.registry import registry_in
from gateway.staff.models import StaffMember


def list_staff(session: Session, organisation_id: str) -> list[StaffMember]:
    """The organisation's registered staff (removed members are not listed)."""
    return list(
        session.scalars(
            select(StaffMember)
            .where(
                StaffMember.organisation_id == organisation_id,
                StaffMember.removed_at.is_(None),
            )
            .order_by(StaffMember.staff_id)
        )
    )


def find_registered(session: Session, organisation_id: str, staff_id: str) -> StaffMember | None:
    member = registry_in(session).staff_member(session, organisation_id, staff_id)
    return member if member is not None and member.is_registered else None


def get_staff(session: Session, organisation_id: str, staff_id: str) -> StaffMember:
    member = find_registered(session, organisation_id, staff_id)
    if member is None:
        raise NotFoundError(f"No registered staff member {staff_id} at this organisation.")
    return member


def register_staff(
    session: Session, actor: Actor, staff_id: str, *, display_name: str, role: str
) -> StaffMember:
    """Add a staff member. An id once used stays that person's: a removed id is not reused,
    because the audit log names people by it."""
    organisation_id = actor.id
    if session.get(StaffMember, (organisation_id, staff_id)) is not None:
        raise ConflictError(
            f"The staff id {staff_id} is already in use at this organisation (or was, by "
            "someone since removed); ids are never reused."
        )
    member = StaffMember(
        organisation_id=organisation_id, staff_id=staff_id, display_name=display_name, role=role
    )
    session.add(member)
    _record(session, actor, "staff.register", member)
    session.commit()
    return member


def update_staff(
    session: Session,
    actor: Actor,
    staff_id: str,
    *,
    display_name: str | None = None,
    role: str | None = None,
) -> StaffMember:
    member = get_staff(session, actor.id, staff_id)
    if display_name is not None:
        member.display_name = display_name
    if role is not None:
        member.role = role
    _record(session, actor, "staff.update", member)
    session.commit()
    return member


def remove_staff(session: Session, actor: Actor, staff_id: str) -> None:
    """From now on calls on this member's behalf are refused, with tokens already issued."""
    member = get_staff(session, actor.id, staff_id)
    change_once(
        session,
        update(StaffMember)
        .where(
            StaffMember.organisation_id == actor.id,
            StaffMember.staff_id == staff_id,
            StaffMember.removed_at.is_(None),
        )
        .values(removed_at=utcnow()),
        NotFoundError(f"No registered staff member {staff_id} at this organisation."),
    )
    _record(session, actor, "staff.remove", member)
    session.commit()


def _record(session: Session, actor: Actor, action: str, member: StaffMember) -> None:
    """The id and role, never the display name: the log names people pseudonymously."""
    record(
        session,
        Entry(
            action=action,
            actor=actor,
            outcome="success",
            subject=member.organisation_id,
            extra={"staff_id": member.staff_id, "staff_role": member.role},
        ),
    )
