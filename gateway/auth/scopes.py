"""OAuth2 scopes and which organisation role may hold them."""

from __future__ import annotations

from enum import StrEnum

from gateway.organisations.identifiers import OrganisationRole


class Scope(StrEnum):
    # Manage the organisation registry. Only the gateway operator; it never sees child data.
    ADMIN = "admin"
    # Take part in exchanges as requester or source.
    EXCHANGE = "exchange"


ROLE_SCOPES: dict[OrganisationRole, frozenset[Scope]] = {
    OrganisationRole.GATEWAY: frozenset({Scope.ADMIN}),
    OrganisationRole.OPVANG: frozenset({Scope.EXCHANGE}),
    OrganisationRole.SCHOOL: frozenset({Scope.EXCHANGE}),
    OrganisationRole.SWV: frozenset({Scope.EXCHANGE}),
    OrganisationRole.LEERPLICHT: frozenset({Scope.EXCHANGE}),
}
