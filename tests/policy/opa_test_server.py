"""A real HTTP server that speaks the part of OPA's REST API the gateway uses.

No OPA server binary can be installed here, so the OPA engine path is tested against this:
policies are uploaded with ``PUT /v1/policies/<id>``, data with ``PUT /v1/data/<path>``, and
decisions asked with ``POST /v1/data/<path>`` (OPA Data API), all through opa-python-client.
Behind it, the uploaded Rego is evaluated by OPA's own Go evaluator (:mod:`tests.policy.opa_go`),
so the ``GATEWAY_OPA_URL`` path is tested against OPA's semantics.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import opa_bindings
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.policy import opa_go


@dataclass
class OpaState:
    modules: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    delay_seconds: float = 0.0
    fail_with_status: int | None = None
    queries: int = 0
    _engine: Any = None

    def engine(self) -> Any:
        if self._engine is None:
            self._engine = opa_go.load(self.modules, self.data)
        return self._engine

    def evaluate(self, path: str, document: Any) -> Any:
        """OPA answers an undefined document with no result; so do we."""
        try:
            return self.engine().eval_document(path, document)
        except opa_bindings.OpaUndefinedError:
            return None

    def reset(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def build_app(state: OpaState) -> Starlette:
    async def put_policy(request: Request) -> Response:
        source = (await request.body()).decode("utf-8")
        try:
            opa_go.load({request.path_params["id"]: source}, {}).close()
        except opa_bindings.OpaError as exc:
            return JSONResponse({"code": "invalid_parameter", "message": str(exc)}, 400)
        state.modules[request.path_params["id"]] = source
        state.reset()
        return JSONResponse({})

    async def put_data(request: Request) -> Response:
        parts = [p for p in request.path_params["path"].split("/") if p]
        target = state.data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = await request.json()
        state.reset()
        return Response(status_code=204)

    async def query(request: Request) -> Response:
        state.queries += 1
        if state.delay_seconds:
            await asyncio.sleep(state.delay_seconds)
        if state.fail_with_status:
            return JSONResponse({"code": "internal_error"}, state.fail_with_status)
        body = await request.json()
        path = ".".join(p for p in request.path_params["path"].split("/") if p)
        result = state.evaluate(path, body.get("input", {}))
        return JSONResponse({} if result is None else {"result": result})

    async def health(_: Request) -> Response:
        return JSONResponse({})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        state.reset()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/v1/policies/{id:path}", put_policy, methods=["PUT"]),
            Route("/v1/data/{path:path}", put_data, methods=["PUT"]),
            Route("/v1/data/{path:path}", query, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_opa_server() -> Iterator[tuple[str, OpaState]]:
    state = OpaState()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test OPA server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
