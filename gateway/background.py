"""Background work in the thread pool that never outlives the engine it uses.

Cancelling a coroutine that awaits :func:`~starlette.concurrency.run_in_threadpool` does not stop
the thread: at shutdown the lifespan would cancel a maintenance or outbox round and dispose of
the engine while the round still holds a connection, which then leaks (and, on PostgreSQL, is
dropped unclosed). :func:`to_completion` lets a round that has started finish first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


async def to_completion(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in the thread pool; if cancelled meanwhile, wait for it, then re-raise."""
    work = asyncio.ensure_future(run_in_threadpool(func, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with suppress(Exception):
            await work
        raise
