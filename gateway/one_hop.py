"""API routes that cost one hop to a worker thread: the route class every ``/api/v1`` router uses.

FastAPI runs each plain ``def`` dependency, a plain ``def`` endpoint and that endpoint's response
validation on the thread pool, one hop each (five for an authenticated create, about a third of
a millisecond apiece on this project's machines; docs/adr/0006-exchange-throughput.md). The API
keeps plain functions, FastAPI's dependencies and one set of synchronous services shared with
the portal, the demo and the maintenance run; what changes is where the work runs:

- the dependencies the API uses are ``async`` and do no I/O: :func:`gateway.deps.get_session`
  makes a session (no connection yet), :func:`gateway.deps.get_principal` checks the token's
  signature and claims and leaves the organisation to be confirmed;
- :class:`OneHopRoute` turns the plain endpoint into an ``async`` one that makes a single
  :func:`~starlette.concurrency.run_in_threadpool` call, in which the caller's organisation is
  confirmed (registered, active, within its rate limit; the staff member it acts for,
  registered), the endpoint runs (its audit entries naming that staff member), and the session
  is closed. The response model is validated on the event loop afterwards (CPU only);
- a request refused before its endpoint runs (a body that does not validate, a missing scope,
  a body that is not JSON) has its caller confirmed first, by :func:`install_caller_first`, so
  a token of a suspended or unregistered organisation gets its 401, and a caller over its rate
  limit its 429, whatever else is wrong with the request. That costs a hop on the error path
  only.

Written by hand because FastAPI has no switch for it: its dependency solver is ``async`` and
hops once per synchronous callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.auditing.service import acting_for
from gateway.deps import Principal, confirm_principal
from gateway.errors import AuthenticationError, GatewayError
from gateway.rate_limits import RateLimitedError

_REQUEST = "_one_hop_request"


class OneHopRoute(APIRoute):
    """An API route whose plain-function endpoint runs, with the caller's confirmation and the
    session's close, in one worker-thread call."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.iscoroutinefunction(endpoint):
            raise TypeError(
                f"{endpoint.__qualname__}: API endpoints are plain functions; OneHopRoute runs "
                "them in one worker hop together with the caller's confirmation."
            )
        super().__init__(path, in_one_hop(endpoint), **kwargs)


def in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine with the same parameters (and the request, which it reads
    the principal and the session from), doing all its work in one worker-thread call."""

    async def run(**values: Any) -> Any:
        request: Request = values.pop(_REQUEST)
        return await run_in_threadpool(partial(_work, endpoint, request), **values)

    signature = inspect.signature(endpoint, eval_str=True)
    extra = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), extra]
    )
    for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
        setattr(run, attribute, getattr(endpoint, attribute))
    return run


def _work(endpoint: Callable[..., Any] | None, request: Request, **values: Any) -> Any:
    """Confirm the caller, if the request has one, run ``endpoint``, close the session."""
    state = request.state
    try:
        principal: Principal | None = getattr(state, "principal", None)
        if principal is not None:
            confirm_principal(request, principal)
        if endpoint is None:
            return None
        with acting_for(principal.acting_for if principal is not None else None):
            return endpoint(**values)
    finally:
        session = getattr(state, "session", None)
        if session is not None:
            session.close()


ExceptionHandler = Callable[[Request, Exception], Any]


def install_caller_first(app: FastAPI) -> None:
    """Wrap every exception handler of ``app`` so an error raised before the endpoint's hop
    answers for an unconfirmed caller only once the caller is confirmed: if its organisation
    is not registered or is suspended (401), or it is over its rate limit (429), that is the
    answer."""
    refuse: ExceptionHandler = app.exception_handlers[GatewayError]
    for kind, handler in list(app.exception_handlers.items()):
        app.exception_handlers[kind] = _caller_first(handler, refuse)


def _caller_first(handler: ExceptionHandler, refuse: ExceptionHandler) -> ExceptionHandler:
    async def handle(request: Request, exc: Exception) -> Response:
        principal: Principal | None = getattr(request.state, "principal", None)
        if (
            principal is not None
            and principal.confirmed is None
            and not isinstance(exc, AuthenticationError | RateLimitedError)  # answers as it is
        ):
            try:
                await run_in_threadpool(_work, None, request)
            except GatewayError as refused:
                return await refuse(request, refused)  # type: ignore[no-any-return]
            except SQLAlchemyError:
                pass  # the database is down: answer what the request itself got wrong
        return await handler(request, exc)  # type: ignore[no-any-return]

    return handle
