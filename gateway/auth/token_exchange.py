"""Token exchange (RFC 8693): an organisation's client gets a token on behalf of one of its staff.

The request is a token request with the same client authentication as client credentials
(``private_key_jwt``, or a client certificate over mutual TLS), and:

- ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``;
- ``subject_token``: a JWT the organisation signs with one of its registered keys, naming the
  staff member: ``iss`` = the client_id, ``sub`` = the staff id (registered through
  ``/api/v1/organisations/me/staff``), ``aud`` = the token URL or the issuer, ``exp`` at most
  the client-assertion lifetime ahead, and a ``jti``: like a client assertion, a subject token
  is good for one request;
- ``subject_token_type=urn:ietf:params:oauth:token-type:jwt``;
- optionally ``requested_token_type`` (only ``…:token-type:access_token``) and ``scope``.

The access token issued has the staff member as its subject (``sub``) and the organisation's
client as the acting party (``act``, RFC 8693 §4.1): the client acts on the staff member's
behalf, and every audit entry of its calls records the staff member as ``on_behalf_of``. The
staff member must be registered when the token is issued and whenever it is used.

Authlib ships no token-exchange grant; this is one on its grant interface.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError, UnauthorizedClientError, grants
from joserfc import jwt
from joserfc.errors import JoseError

from gateway.auth.assertions import JWT_TOKEN_TYPE, TOKEN_EXCHANGE
from gateway.auth.token_endpoint import (
    ALL_METHODS,
    ASSERTION_ALGORITHMS,
    ASSERTION_LEEWAY_SECONDS,
    MAX_JTI,
    OrganisationClient,
    assertion_audiences,
    check_client_may_ask,
    lives_too_long,
    registered_keys,
    spend_jti,
    valid_jti,
)
from gateway.staff.models import StaffMember
from gateway.staff.schemas import STAFF_ID
from gateway.staff.service import find_registered

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a type URI


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ALL_METHODS

    def validate_token_request(self) -> None:
        client: OrganisationClient = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                description="Only organisations that take part in exchanges act for staff."
            )
        self.request.client = client
        check_client_may_ask(client, self.request.payload.scope)
        form: dict[str, str] = self.request.payload.data
        if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(description=f"Only {ACCESS_TOKEN_TYPE} can be issued.")
        if form.get("subject_token_type") != JWT_TOKEN_TYPE:
            raise InvalidRequestError(
                description=f"The subject_token_type must be {JWT_TOKEN_TYPE}: a JWT the "
                "organisation signs naming its staff member."
            )
        if "actor_token" in form or "actor_token_type" in form:
            raise InvalidRequestError(
                description="No actor_token: the authenticated client is the acting party."
            )
        staff_id = self._staff_named(client, form.get("subject_token") or "")
        member = find_registered(self.server.session, client.organisation.id, staff_id)
        if member is None:
            raise InvalidRequestError(
                description=f"The organisation has not registered a staff member {staff_id} "
                "(or has removed them)."
            )
        self.request.user = member

    def _staff_named(self, client: OrganisationClient, subject_token: str) -> str:
        """The staff id of a subject token signed by one of the client's registered keys."""
        settings = self.server.settings
        keys = registered_keys(client.organisation)
        if keys is None:
            raise InvalidRequestError(
                description="The subject_token is signed with a registered key, and this "
                "client has none."
            )
        try:
            token = jwt.decode(subject_token, keys, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidRequestError(
                description="The subject_token is not a JWT signed with a registered key of "
                "this client."
            ) from exc
        registry = jwt.JWTClaimsRegistry(
            leeway=ASSERTION_LEEWAY_SECONDS,
            iss={"essential": True, "value": client.organisation.id},
            aud={"essential": True, "values": assertion_audiences(settings)},
            sub={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        )
        claims: dict[str, Any] = token.claims
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidRequestError(
                description=f"The subject_token is not valid: {exc.description or exc.error}."
            ) from exc
        if lives_too_long(claims["exp"], settings):
            raise InvalidRequestError(
                description="The subject_token lives too long; its exp may be at most "
                f"{settings.client_assertion_max_lifetime} seconds ahead."
            )
        staff_id = claims["sub"]
        if not isinstance(staff_id, str) or not re.fullmatch(STAFF_ID, staff_id):
            raise InvalidRequestError(description="The subject_token's sub is not a staff id.")
        if not valid_jti(claims["jti"]):
            raise InvalidRequestError(
                description=f"The subject_token's jti must be 1 to {MAX_JTI} printable characters."
            )
        if not spend_jti(self.server.session, client.organisation.id, claims["jti"], claims["exp"]):
            raise InvalidRequestError(
                description="This subject_token has been used before; sign a new one (with a "
                "new jti) for every token request."
            )
        return staff_id

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        member: StaffMember = self.request.user
        token: dict[str, Any] = self.generate_token(
            user=member, scope=self.request.payload.scope, include_refresh_token=False
        )
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
