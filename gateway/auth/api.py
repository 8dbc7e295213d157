"""``/oauth/token`` and ``/.well-known/jwks.json``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidRequestError
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.auth.assertions import JWT_TOKEN_TYPE, TOKEN_EXCHANGE
from gateway.auth.token_endpoint import (
    ClientCredentialsGrant,
    TokenRequest,
    TokenServer,
    oauth_problem,
    reject_repeated_parameters,
)
from gateway.auth.token_exchange import TokenExchangeGrant
from gateway.deps import AccessTokensDep, RateLimitsDep, SessionDep, SettingsDep, client_certificate
from gateway.errors import problem_responses

router = APIRouter(tags=["oauth"])
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 20

_TOKEN_REQUEST_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "maxProperties": MAX_FORM_FIELDS,
                    "properties": {
                        "grant_type": {
                            "type": "string",
                            "enum": ["client_credentials", TOKEN_EXCHANGE],
                            "description": "client_credentials for the organisation's own "
                            "token (its staff register, webhooks); the token exchange (RFC "
                            "8693) for a token on behalf of a registered staff member, which "
                            "every call about a child needs.",
                        },
                        "scope": {"type": "string", "examples": ["exchange"]},
                        "client_id": {
                            "type": "string",
                            "description": "With tls_client_auth or "
                            "self_signed_tls_client_auth (RFC 8705): the organisation id; the "
                            "client certificate of the TLS connection authenticates it.",
                        },
                        "client_assertion_type": {
                            "type": "string",
                            "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                        },
                        "client_assertion": {
                            "type": "string",
                            "description": "JWT signed with the organisation's private key "
                            "(RFC 7523): iss = sub = client_id, aud = the token URL, exp, jti.",
                        },
                        "subject_token": {
                            "type": "string",
                            "description": "Token exchange only: a JWT signed with the same "
                            "key naming the staff member: iss = client_id, sub = the staff id "
                            "(see /api/v1/organisations/me/staff), aud = the token URL, exp.",
                        },
                        "subject_token_type": {"type": "string", "enum": [JWT_TOKEN_TYPE]},
                        "requested_token_type": {
                            "type": "string",
                            "enum": ["urn:ietf:params:oauth:token-type:access_token"],
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/oauth/token",
    summary="Obtain an access token (client credentials or token exchange, private_key_jwt)",
    openapi_extra=_TOKEN_REQUEST_SCHEMA,
    response_model=None,
    responses=problem_responses(400, 401, 413, 415, 429, 503),
)
async def issue_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    tokens: AccessTokensDep,
    rate_limits: RateLimitsDep,
) -> Response:
    await rate_limits.token.hit_async(request.client.host if request.client else "unknown")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        return oauth_problem(
            "invalid_request",
            f"Send the token request as {FORM}.",
            status=415,
            headers={"Accept-Post": FORM},
        )
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
        form = reject_repeated_parameters(pairs)
    except UnicodeDecodeError:
        return oauth_problem("invalid_request", "The request body is not valid UTF-8.")
    except InvalidRequestError as exc:
        return oauth_problem(exc.error, exc.description)
    except ValueError:
        return oauth_problem("invalid_request", "The request has too many parameters.")

    server = TokenServer(
        session,
        settings,
        tokens,
        (ClientCredentialsGrant, TokenExchangeGrant),
        certificate=client_certificate(request),
        revocation=request.app.state.revocation,
    )
    token_request = TokenRequest(settings.token_url, request.headers, form)

    def respond() -> Response:  # one worker hop, the session closed in it
        try:
            response: Response = server.create_token_response(token_request)
            return response
        finally:
            session.close()

    return await run_in_threadpool(respond)


# Not in the API document: the authorization server's key set, at its well-known address.
@router.get(
    "/.well-known/jwks.json",
    summary="Public keys that sign access tokens",
    include_in_schema=False,
)
def jwks(tokens: AccessTokensDep) -> dict[str, Any]:
    return tokens.jwks()
