"""One error vocabulary: RFC 9457 problem details for everything the service returns.

Services raise :class:`GatewayError` subclasses that name a :class:`ProblemType`; the handlers
below turn those, framework HTTP errors, request-validation errors and unexpected exceptions into
``application/problem+json``. Each problem type has a stable URN, so clients can branch on
``type`` without parsing ``detail``. An unexpected exception is logged with the request id and
answered with a 500 that carries no internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:kindkoppeling:problem:"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug


BAD_REQUEST = ProblemType("bad-request", 400, "The request is malformed")
AUTHENTICATION_REQUIRED = ProblemType("authentication-required", 401, "Authentication required")
INVALID_TOKEN = ProblemType("invalid-token", 401, "The access token is not valid")
FORBIDDEN = ProblemType("forbidden", 403, "Not allowed")
INSUFFICIENT_SCOPE = ProblemType("insufficient-scope", 403, "The token lacks a required scope")
STAFF_REQUIRED = ProblemType(
    "staff-required", 403, "The call does not say on whose behalf it is made"
)
NOT_FOUND = ProblemType("not-found", 404, "Not found")
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", 405, "Method not allowed")
NOT_ACCEPTABLE = ProblemType("not-acceptable", 406, "Not acceptable")
CONFLICT = ProblemType("conflict", 409, "Conflict with the current state")
GONE = ProblemType("payload-shredded", 410, "The payload has been destroyed")
PAYLOAD_TOO_LARGE = ProblemType("payload-too-large", 413, "Request body too large")
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported-media-type", 415, "Unsupported media type")
VALIDATION_FAILED = ProblemType("validation-failed", 422, "The request is not valid")
IDEMPOTENCY_KEY_REUSED = ProblemType(
    "idempotency-key-reused", 422, "The Idempotency-Key was used for a different request"
)
DENIED_BY_POLICY = ProblemType("denied-by-policy", 403, "The policy does not allow this now")
TOO_MANY_REQUESTS = ProblemType("too-many-requests", 429, "Too many requests")
INTERNAL_ERROR = ProblemType("internal-error", 500, "Internal error")
SERVICE_UNAVAILABLE = ProblemType("service-unavailable", 503, "Service unavailable")

_BY_STATUS = {
    p.status: p
    for p in (
        BAD_REQUEST,
        AUTHENTICATION_REQUIRED,
        FORBIDDEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        NOT_ACCEPTABLE,
        CONFLICT,
        PAYLOAD_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        VALIDATION_FAILED,
        TOO_MANY_REQUESTS,
        INTERNAL_ERROR,
        SERVICE_UNAVAILABLE,
    )
}


class InvalidField(BaseModel):
    """One offending field: a JSON pointer into the body, or a named parameter."""

    pointer: str | None = Field(default=None, examples=["#/child/bsn"])
    parameter: str | None = Field(default=None, examples=["status"])
    in_: str | None = Field(default=None, alias="in", examples=["query"])
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details. Branch on ``type``; ``detail`` is for people."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[NOT_FOUND.uri])
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[InvalidField] | None = Field(
        default=None, description="For validation problems: each offending field."
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` that document error statuses as problem+json."""
    return {
        status: {
            "description": problem_for_status(status).title,
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# What any API route may answer besides its success: authentication and authorisation, missing
# objects and state conflicts, body limits and validation, rate limits and unavailability.
API_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)


def problem_for_status(status: int) -> ProblemType:
    """The generic problem type of an HTTP status, for errors raised by the framework."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return ProblemType(f"http-{status}", status, phrase)


STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class GatewayError(Exception):
    """A domain error with a problem type; raised by services, rendered by the HTTP layer."""

    problem: ProblemType = BAD_REQUEST

    def __init__(
        self,
        detail: str,
        *,
        problem: ProblemType | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        if clash := STANDARD_MEMBERS & extensions.keys():
            # An extension named like a standard member would replace it (a "status" that is
            # not the HTTP status): RFC 9457 section 3.2 reserves these names.
            raise ValueError(f"problem extensions may not be named {sorted(clash)}")
        self.detail = detail
        if problem is not None:
            self.problem = problem
        self.headers = headers or {}
        self.extensions = extensions


class NotFoundError(GatewayError):
    problem = NOT_FOUND


class ConflictError(GatewayError):
    problem = CONFLICT


class ValidationFailedError(GatewayError):
    """Domain validation of one or more fields; ``errors`` names them like request validation."""

    problem = VALIDATION_FAILED

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, errors=errors)


class GoneError(GatewayError):
    problem = GONE


class AuthenticationError(GatewayError):
    problem = INVALID_TOKEN


class ForbiddenError(GatewayError):
    problem = FORBIDDEN


class UnsupportedMediaTypeError(GatewayError):
    problem = UNSUPPORTED_MEDIA_TYPE


class ServiceUnavailableError(GatewayError):
    problem = SERVICE_UNAVAILABLE


def problem_response(
    problem: ProblemType,
    detail: str,
    *,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.uri,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
    }
    headers = dict(headers or {})
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
            # A 500 is written outside the request-id middleware; name the id here too.
            headers.setdefault("X-Request-ID", request_id)
    body.update(extensions)
    return JSONResponse(body, status_code=problem.status, headers=headers, media_type=PROBLEM_JSON)


def _pointer(loc: tuple[Any, ...]) -> dict[str, str]:
    """RFC 6901 pointer for body errors, parameter name for the rest (RFC 9457 §3 example)."""
    where, *path = loc
    if where == "body":
        escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
        return {"pointer": "#/" + "/".join(escaped)}
    return {"parameter": ".".join(str(p) for p in path), "in": str(where)}


def _as_html(request: Request, problem: ProblemType, detail: str) -> Response | None:
    """The portal registers ``app.state.html_errors`` to answer its own paths with a page."""
    renderer = getattr(request.app.state, "html_errors", None)
    if renderer is None:
        return None
    page: Response | None = renderer(request, problem.status, problem.title, detail)
    return page


def _page_or_problem(
    request: Request,
    problem: ProblemType,
    detail: str,
    *,
    page_detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A portal page (in Dutch) on the portal's paths, problem+json everywhere else."""
    page = _as_html(request, problem, page_detail)
    if page is None:
        return problem_response(problem, detail, request=request, headers=headers, **extensions)
    page.headers.update(headers or {})
    return page


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    page = _as_html(request, exc.problem, exc.detail)
    if page is not None:
        return page
    return problem_response(
        exc.problem, exc.detail, request=request, headers=exc.headers, **exc.extensions
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    problem = problem_for_status(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else problem.title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is no resource at {request.url.path}."
        page = _as_html(request, problem, "Deze pagina bestaat niet.")
        if page is not None:
            return page
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem_response(problem, detail, request=request, headers=dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{**_pointer(tuple(e["loc"])), "detail": e["msg"]} for e in exc.errors()]
    fields = ", ".join(e.get("pointer") or e["parameter"] for e in errors)
    return _page_or_problem(
        request,
        VALIDATION_FAILED,
        f"The request has invalid or missing fields: {fields}.",
        page_detail=f"Deze invoer klopt niet: {fields}.",
        errors=errors,
    )


DATABASE_RETRY_AFTER = 5


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """The database cannot be reached, is restarting, or is locked: nothing was done, try again."""
    log.warning("database_unavailable", error=_driver_error_name(exc))
    return _page_or_problem(
        request,
        SERVICE_UNAVAILABLE,
        "The database is not available right now; nothing was changed. Try again shortly.",
        page_detail="De dienst is even niet bereikbaar.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


async def _unstorable_value(request: Request, exc: Exception) -> Response:
    """A value the database refuses (PostgreSQL text cannot hold NUL; a number out of range):
    the client's input, so a 422, and the transaction was rolled back whole."""
    log.info("unstorable_value", error=_driver_error_name(exc))
    return _page_or_problem(
        request,
        VALIDATION_FAILED,
        "The request holds a value that cannot be stored, such as a NUL character or a number "
        "out of range. Nothing was changed.",
        page_detail="Deze invoer bevat tekens die niet kunnen.",
        errors=[],
    )


async def _integrity_error(request: Request, exc: Exception) -> Response:
    """A unique key taken by a concurrent request between this one's look and its write (two
    identical registrations at once, say): its whole transaction was rolled back, so the
    answer is a 409 to look again, never a 500. Any other constraint failing is a fault here."""
    if not _is_unique_violation(exc):
        return await _unexpected_error(request, exc)
    log.info("concurrent_write_conflict", error=_driver_error_name(exc))
    return _page_or_problem(
        request,
        CONFLICT,
        "A concurrent request changed the same thing first; nothing of this request was "
        "stored. Read the current state, then try again if it is still needed.",
        page_detail="Iemand anders wijzigde dit tegelijk met u. Probeer het opnieuw.",
    )


def _is_unique_violation(exc: Exception) -> bool:
    """PostgreSQL's unique_violation (23505), or SQLite's UNIQUE or PRIMARY KEY constraint."""
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) == "23505":
        return True
    return getattr(original, "sqlite_errorname", None) in {
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    }


def _driver_error_name(exc: Exception) -> str:
    """The class of the database driver's error; its message can quote the statement's values."""
    return type(getattr(exc, "orig", None) or exc).__name__


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_exception", exc_info=exc)
    return problem_response(
        INTERNAL_ERROR,
        "Something went wrong on our side. Quote the request_id when you report it.",
        request=request,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(IntegrityError, _integrity_error)
    for database_down in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(database_down, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
