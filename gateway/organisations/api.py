"""HTTP endpoints of the organisation registry: admin management and ``/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from gateway.deps import AdminClient, CurrentClient, SessionDep, SettingsDep, require_json
from gateway.errors import problem_responses
from gateway.one_hop import OneHopRoute
from gateway.organisations import certificates, service
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import OrganisationStatus
from gateway.organisations.schemas import (
    CertificateCreate,
    CertificateOut,
    KeyCreate,
    KeyOut,
    OrganisationCreate,
    OrganisationList,
    OrganisationOut,
    OrganisationUpdate,
)
from gateway.tls import trust

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/organisations",
    tags=["organisations"],
    dependencies=[Depends(require_json)],
)


@router.get("/me", summary="The organisation the access token belongs to")
def read_me(client: CurrentClient) -> OrganisationOut:
    return OrganisationOut.of(client.organisation)


@router.get("", summary="List registered organisations (admin)")
def list_organisations(
    _: AdminClient,
    session: SessionDep,
    role: Annotated[OrganisationRole | None, Query()] = None,
    status_: Annotated[OrganisationStatus | None, Query(alias="status")] = None,
) -> OrganisationList:
    found = service.list_organisations(session, role=role, status=status_)
    return OrganisationList(items=[OrganisationOut.of(o) for o in found], total=len(found))


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an organisation (admin)")
def create_organisation(
    body: OrganisationCreate, admin: AdminClient, session: SessionDep, response: Response
) -> OrganisationOut:
    organisation = service.register_organisation(
        session,
        actor=admin.actor,
        role=body.role,
        name=body.name,
        identifier=body.identifier,
        gemeente=body.gemeente,
        region=body.region,
    )
    response.headers["Location"] = f"/api/v1/organisations/{organisation.id}"
    return OrganisationOut.of(organisation)


@router.get("/{organisation_id}", summary="One organisation (admin)")
def read_organisation(organisation_id: str, _: AdminClient, session: SessionDep) -> OrganisationOut:
    return OrganisationOut.of(service.get_organisation(session, organisation_id))


@router.patch("/{organisation_id}", summary="Suspend or reactivate an organisation (admin)")
def update_organisation(
    organisation_id: str, body: OrganisationUpdate, admin: AdminClient, session: SessionDep
) -> OrganisationOut:
    organisation = service.set_status(session, organisation_id, body.status, actor=admin.actor)
    return OrganisationOut.of(organisation)


@router.post(
    "/{organisation_id}/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Register a public key for private_key_jwt (admin)",
)
def add_key(
    organisation_id: str, body: KeyCreate, admin: AdminClient, session: SessionDep
) -> KeyOut:
    key = service.add_key(session, organisation_id, body.jwk, actor=admin.actor)
    return KeyOut(kid=key.kid, jwk=key.jwk, created_at=key.created_at)


@router.post(
    "/{organisation_id}/certificates",
    status_code=status.HTTP_201_CREATED,
    summary="Register a client certificate for mutual TLS, RFC 8705 (admin)",
    responses=problem_responses(409),
)
def add_certificate(
    organisation_id: str,
    body: CertificateCreate,
    admin: AdminClient,
    session: SessionDep,
    settings: SettingsDep,
) -> CertificateOut:
    registered = certificates.add_certificate(
        session,
        organisation_id,
        body.certificate,
        actor=admin.actor,
        ca_bundle=settings.tls_client_ca_file,
    )
    if registered.self_signed:  # this process's handshakes trust it now; others at refresh
        trust.add([registered.pem])
    return CertificateOut.of(registered)


@router.delete(
    "/{organisation_id}/keys/{kid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a key: no new token is issued on it (admin)",
    responses=problem_responses(404),
)
def remove_key(
    organisation_id: str,
    kid: Annotated[str, Path(max_length=128)],
    admin: AdminClient,
    session: SessionDep,
) -> Response:
    service.remove_key(session, organisation_id, kid, actor=admin.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{organisation_id}/certificates/{thumbprint}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a client certificate: it authenticates the organisation no more (admin)",
    responses=problem_responses(404),
)
def remove_certificate(
    organisation_id: str,
    thumbprint: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{43}$")],
    admin: AdminClient,
    session: SessionDep,
) -> Response:
    certificates.remove_certificate(session, organisation_id, thumbprint, actor=admin.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
