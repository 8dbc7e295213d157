"""A small OpenID Connect provider for dev, demo and tests, built on Authlib's authorization
server: Authorization Code with PKCE (S256, required), ID tokens signed with ES256, discovery,
JWKS and RP-Initiated Logout. It stands in for a DigiD or eHerkenning broker: the login page
lets you pick one of the fictitious people in :mod:`gateway.portal.dev_people` and the level of
assurance of the login (``acr``): DigiD Substantieel for citizens and eHerkenning EH3 for
officers unless you choose another, so a login below the portal's level can be seen refused.
It keeps no sessions of its own, so its end-session endpoint has nothing to end: it checks the
request and sends the browser back to the portal.

It is mounted only outside production. Codes live in memory for a minute and the signing key
is made at start, so it serves exactly one process; that is all dev needs. Authlib has no
Starlette server integration, so the adapter (requests in, responses out) is here, as for the
token endpoint.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, OAuth2Error, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from fastapi import APIRouter, Request
from joserfc.jwk import ECKey
from starlette.responses import JSONResponse, RedirectResponse, Response

from gateway.auth.token_endpoint import TokenRequest
from gateway.children.bsn import InvalidBSNError
from gateway.portal import assurance
from gateway.portal.csrf import check_csrf
from gateway.portal.dev_people import DEV_PEOPLE, DevPerson, dev_person, person_with_bsn
from gateway.portal.pages import render
from gateway.translations import _

CODE_LIFETIME = 60
ID_TOKEN_LIFETIME = 300
NO_LEVEL = "geen"  # the login form's choice for an ID token without acr


@dataclass(frozen=True)
class DevClient(ClientMixin):  # type: ignore[misc]
    """The portal, the only client this provider knows."""

    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": [self.post_logout_redirect_uri]}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in {"openid", "profile"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class DevLogin:
    """A person as they logged in: who, and at which level of assurance."""

    person: DevPerson
    acr: str | None


@dataclass
class DevCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    login: DevLogin
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.login.acr

    def get_amr(self) -> list[str] | None:
        return None

    @property
    def expired(self) -> bool:
        return time.time() > self.auth_time + CODE_LIFETIME


class DevProvider(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, issuer: str, client: DevClient) -> None:
        super().__init__(scopes_supported=["openid", "profile"])
        self.issuer = issuer
        self.client = client
        self.key = ECKey.generate_key("P-256", private=True)
        self.key.ensure_kid()
        self.codes: dict[str, DevCode] = {}
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32))
        )
        self.register_grant(CodeGrant, [RequiredS256Challenge(required=True), DevOpenIDCode(self)])
        self.register_endpoint(DevEndSession)

    def query_client(self, client_id: str) -> DevClient | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        return None  # access tokens are not used: the portal needs only the ID token

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        header_map = dict(headers)
        if status in {301, 302, 303}:
            return RedirectResponse(header_map.pop("Location"), status_code=302)
        return JSONResponse(body, status_code=status, headers=header_map)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid", "profile"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["sub", "name", "acr", "bsn", "organisation", "roles"],
            "acr_values_supported": list(assurance.NAMES),
        }


class RequiredS256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only (Authlib requires it for public clients alone; the
    portal is confidential and uses it anyway, so the provider may insist)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: send code_challenge with method S256.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def save_authorization_code(self, code: str, request: TokenRequest) -> None:
        codes: dict[str, DevCode] = self.server.codes
        for stale in [key for key, kept in codes.items() if kept.expired]:
            del codes[stale]  # never redeemed; keeps the in-memory store small
        data = request.payload.data
        codes[code] = DevCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            login=request.user,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: DevClient) -> DevCode | None:
        found: DevCode | None = self.server.codes.get(code)
        if found is None or found.client_id != client.client_id or found.expired:
            return None
        return found

    def delete_authorization_code(self, authorization_code: DevCode) -> None:
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: DevCode) -> DevLogin:
        return authorization_code.login


class DevOpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: DevProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: TokenRequest) -> bool:
        return any(c.nonce == nonce for c in self.provider.codes.values())

    def resolve_client_private_key(self, client: DevClient) -> ECKey:
        return self.provider.key

    def get_client_algorithm(self, client: DevClient) -> str:
        return "ES256"

    def get_encode_header(self, client: DevClient) -> dict[str, str]:
        return {"alg": "ES256", "kid": str(self.provider.key.kid)}

    def get_client_claims(self, client: DevClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.provider.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }

    def generate_user_info(self, user: DevLogin, scope: str) -> UserInfo:
        return UserInfo(**user.person.claims())


class DevEndSession(EndSessionEndpoint):  # type: ignore[misc]
    """RP-Initiated Logout: the hint must be an ID token of this provider, and the portal is
    sent back only to its registered post-logout page."""

    def get_server_jwks(self) -> dict[str, Any]:
        jwks: dict[str, Any] = self.server.jwks()
        return jwks

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        return None  # no sessions kept here: every login asks for a person again


def _acr(person: DevPerson, level: str) -> str | None:
    """The level a login gets: the one chosen, none, or by default Substantieel for citizens
    and EH3 for officers."""
    if level == NO_LEVEL:
        return None
    if level:
        return level
    return assurance.EH3 if person.organisation else assurance.DIGID_SUBSTANTIEEL


def build_router(provider: DevProvider) -> APIRouter:
    router = APIRouter(prefix="/dev-oidc", include_in_schema=False)

    @router.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return provider.metadata()

    @router.get("/jwks")
    def jwks() -> dict[str, Any]:
        return provider.jwks()

    def _authorization_request(request: Request) -> TokenRequest:
        params = dict(request.query_params)
        return TokenRequest(str(request.url), request.headers, params, method="GET")

    def _login_error(request: Request, error: str, description: str) -> Response:
        # Never redirect to a URI that did not validate: say what is wrong here.
        return render(
            request,
            "dev_login_error.html",
            {"error": error, "description": description},
            status_code=400,
        )

    def _login_page(request: Request, bsn_error: str | None = None) -> Response:
        return render(
            request,
            "dev_login.html",
            {
                "people": DEV_PEOPLE,
                "levels": [(acr, assurance.name(acr)) for acr in assurance.NAMES],
                "no_level": NO_LEVEL,
                "action": f"{request.url.path}?{urlencode(request.query_params)}",
                "bsn_error": bsn_error,
            },
            status_code=422 if bsn_error else 200,
        )

    @router.get("/authorize")
    def authorize_page(request: Request) -> Response:
        try:
            provider.get_consent_grant(_authorization_request(request))
        except OAuth2Error as exc:
            return _login_error(request, exc.error, exc.get_error_description())
        return _login_page(request)

    @router.post("/authorize")
    async def authorize(request: Request) -> Response:
        form = await check_csrf(request)
        person: DevPerson | None
        if form.get("bsn"):
            try:
                person = person_with_bsn(str(form["bsn"]))
            except InvalidBSNError:
                return _login_page(request, _("Dit BSN haalt de elfproef niet. Probeer een ander."))
        else:
            person = dev_person(str(form.get("person", "")))
        if person is None:
            return _login_error(request, "no_person", _("Kies een persoon om mee in te loggen."))
        level = str(form.get("level", ""))
        if level not in {"", NO_LEVEL, *assurance.NAMES}:
            return _login_error(request, "no_level", _("Kies een betrouwbaarheidsniveau."))
        login = DevLogin(person, _acr(person, level))
        oauth_request = _authorization_request(request)
        try:
            grant = provider.get_consent_grant(oauth_request, end_user=login)
        except OAuth2Error as exc:
            return _login_error(request, exc.error, exc.get_error_description())
        response: Response = provider.create_authorization_response(
            oauth_request, grant_user=login, grant=grant
        )
        return response

    @router.get("/logout")
    def logout(request: Request) -> Response:
        logout_request = _authorization_request(request)
        try:
            ended = provider.validate_endpoint_request("end_session", logout_request)
        except OAuth2Error as exc:
            return _login_error(request, exc.error, exc.get_error_description())
        response: Response | None = provider.create_endpoint_response("end_session", ended)
        return response or render(request, "message.html", {"title": _("U bent uitgelogd")})

    @router.post("/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        oauth_request = TokenRequest(str(request.url), request.headers, form)
        response: Response = provider.create_token_response(oauth_request)
        return response

    return router
