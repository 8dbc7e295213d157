"""``/api/v1/organisations/me/staff``: the organisation manages its own authorised users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from gateway.auth.scopes import Scope
from gateway.deps import CurrentClient, SessionDep, require_json, require_scope
from gateway.errors import problem_responses
from gateway.one_hop import OneHopRoute
from gateway.staff import service
from gateway.staff.schemas import (
    STAFF_ID,
    STAFF_ID_DESCRIPTION,
    StaffCreate,
    StaffList,
    StaffOut,
    StaffUpdate,
)

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/organisations/me/staff",
    tags=["staff"],
    dependencies=[Depends(require_json), Depends(require_scope(Scope.EXCHANGE))],
)

StaffId = Annotated[str, Path(pattern=STAFF_ID, description=STAFF_ID_DESCRIPTION)]


@router.get("", summary="The organisation's registered staff")
def list_staff(client: CurrentClient, session: SessionDep) -> StaffList:
    found = service.list_staff(session, client.organisation_id)
    return StaffList(items=[StaffOut.of(m) for m in found], total=len(found))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a staff member on whose behalf the organisation may call",
    responses=problem_responses(409),
)
def register_staff(
    body: StaffCreate, client: CurrentClient, session: SessionDep, response: Response
) -> StaffOut:
    member = service.register_staff(
        session, client.actor, body.staff_id, display_name=body.display_name, role=body.role
    )
    response.headers["Location"] = f"/api/v1/organisations/me/staff/{member.staff_id}"
    return StaffOut.of(member)


@router.get("/{staff_id}", summary="One registered staff member", responses=problem_responses(404))
def read_staff(staff_id: StaffId, client: CurrentClient, session: SessionDep) -> StaffOut:
    return StaffOut.of(service.get_staff(session, client.organisation_id, staff_id))


@router.patch(
    "/{staff_id}", summary="Change a staff member's name or role", responses=problem_responses(404)
)
def update_staff(
    staff_id: StaffId, body: StaffUpdate, client: CurrentClient, session: SessionDep
) -> StaffOut:
    member = service.update_staff(
        session, client.actor, staff_id, display_name=body.display_name, role=body.role
    )
    return StaffOut.of(member)


@router.delete(
    "/{staff_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a staff member: calls on their behalf are refused from now on",
    responses=problem_responses(404),
)
def remove_staff(staff_id: StaffId, client: CurrentClient, session: SessionDep) -> Response:
    service.remove_staff(session, client.actor, staff_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
