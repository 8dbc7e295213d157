"""ASGI middleware: request ids and W3C trace context (:mod:`gateway.tracing`) with one
access-log line and one metrics count per request, the
body-size limit, the security headers of every response, and HEAD wherever GET is answered.

All are plain ASGI (not ``BaseHTTPMiddleware``) so they see every request, stream bodies
without buffering them, and add no task hops.
"""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qsl, urlencode

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import tracing
from gateway.errors import PAYLOAD_TOO_LARGE, problem_response
from gateway.metrics import counters as metrics

REQUEST_ID_HEADER = "x-request-id"
TRACEPARENT = b"traceparent"
API_VERSION = b"api-version"  # NL API Design Rules: the full version on every response
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

log = structlog.get_logger("gateway.access")


class RequestContextMiddleware:
    """Give each request an id (the caller's ``X-Request-ID`` if sane) and a trace (the
    caller's ``traceparent`` continued, or a new one, returned in the response), put the API's
    version on every response (``API-Version``), and log its outcome."""

    def __init__(self, app: ASGIApp, api_version: str) -> None:
        self.app = app
        self.api_version = api_version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = _header(scope, REQUEST_ID_HEADER)
        request_id = offered if offered and _VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        trace = tracing.begin(tracing.continued(_header(scope, "traceparent")))
        traceparent = trace.traceparent().encode()
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if all(key.lower() != REQUEST_ID_HEADER.encode() for key, _ in headers):
                    headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                headers.append((TRACEPARENT, traceparent))
                headers.append((API_VERSION, self.api_version))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = _route_template(scope)
            metrics.count_request(scope["method"], route, status)
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                client_id=scope.get("state", {}).get("client_id"),
            )


class HeadAsGetMiddleware:
    """Answer ``HEAD`` wherever ``GET`` is answered (RFC 9110, 9.3.2), which FastAPI's routes do
    not do by themselves (they answer 405): the request runs as a GET and the body is dropped.
    Written by hand because neither FastAPI nor Starlette offers it for API routes.

    The app gets a copy of the scope, so the server's own view of the request stays HEAD and it
    frames the response as one to HEAD (the GET's ``Content-Length``, no body). What routing
    learnt is copied back for the access log and the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(as_get, receive, without_body)
        finally:
            for key in ("route", "path_params", "endpoint"):
                if key in as_get:
                    scope[key] = as_get[key]


class BodySizeLimitMiddleware:
    """Answer 413 problem+json for bodies over the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, "content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            # Raised inside the endpoint's body read, so the app's HTTP error handler renders it.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(413, detail=self._detail)
            return message

        await self.app(scope, counting_receive, send)

    @property
    def _detail(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            PAYLOAD_TOO_LARGE,
            self._detail,
            request=Request(scope),
            max_body_bytes=self.max_body_bytes,
        )
        await response(scope, receive, send)


# Query keys the API named in snake_case until the NL API Design Rules linter ran on it
# (/core/naming: lowerCamelCase). The old names still work, deprecated since this date.
DEPRECATED_QUERY_KEYS = {
    "child_ref": "childRef",
    "trace_id": "traceId",
    "on_behalf_of": "onBehalfOf",
    "school_year": "schoolYear",
    "tree_size": "treeSize",
}
QUERY_KEYS_DEPRECATED_AT = 1796428800  # 2026-12-05, as an RFC 9651 date in the header


class DeprecatedQueryKeysMiddleware:
    """An API request that uses an old query key is answered as if it used the new one, with a
    ``Deprecation`` header (RFC 9745) saying since when the old one is deprecated. Where both
    are given, the new one counts."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if not any(key in DEPRECATED_QUERY_KEYS for key, _ in pairs):
            await self.app(scope, receive, send)
            return
        given = {key for key, _ in pairs}
        renamed = [
            (DEPRECATED_QUERY_KEYS.get(key, key), value)
            for key, value in pairs
            if DEPRECATED_QUERY_KEYS.get(key) not in given
        ]
        scope = {**scope, "query_string": urlencode(renamed).encode("latin-1")}

        async def send_deprecated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", [])]
                headers.append((b"deprecation", f"@{QUERY_KEYS_DEPRECATED_AT}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_deprecated)


def portal_csp(login_origin: str | None) -> bytes:
    """The portal's policy. Its forms post to the portal itself, and logging out redirects to
    the identity provider's end-session page: browsers hold that redirect to form-action too,
    so the provider's origin is allowed there."""
    form_action = "'self'" + (f" {login_origin}" if login_origin else "")
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    ).encode()


API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI and ReDoc run inline and remote scripts and show no personal data: only framing
# is refused there.
DOCS_CSP = b"frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    """Headers that make every response harder to misuse in a browser.

    A content security policy without inline scripts (the portal has no scripts at all), no
    framing, no MIME sniffing, no referrer leaving the site, no caching of anything but static
    files (pages and API answers carry children's data), and HSTS when served over https.
    ``page_prefixes`` are the paths that answer with HTML pages, ``static_prefix`` the path of
    their static files, ``login_origin`` the identity provider's origin (see ``portal_csp``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        page_prefixes: tuple[str, ...],
        static_prefix: str,
        hsts_max_age: int | None,
        login_origin: str | None = None,
    ) -> None:
        self.app = app
        self.portal_csp = portal_csp(login_origin)
        self.page_prefixes = page_prefixes
        self.static_prefix = static_prefix.rstrip("/") + "/"
        self.common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts_max_age:
            value = f"max-age={hsts_max_age}; includeSubDomains"
            self.common.append((b"strict-transport-security", value.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(DOCS_PATHS):
            csp = DOCS_CSP
        elif path.startswith(self.page_prefixes):
            csp = self.portal_csp
        else:
            csp = API_CSP
        added = [*self.common, (b"content-security-policy", csp)]
        if not path.startswith(self.static_prefix):
            added.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers += [(k, v) for k, v in added if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _route_template(scope: Scope) -> str:
    """The path with its parameters named, not valued: ids stay out of the access log."""
    if "route" not in scope:
        return "(unmatched)"
    path: str = scope["path"]
    for name, value in scope.get("path_params", {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}")
    return path


def _header(scope: Scope, name: str) -> str | None:
    raw = name.encode("latin-1")
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == raw:
            return value.decode("latin-1")
    return None
