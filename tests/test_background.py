"""A background round in the thread pool finishes before its cancellation is done, so the
lifespan never disposes of the engine under a round that still holds a connection."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.background import to_completion


def test_a_cancelled_round_finishes_before_the_cancellation_returns() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def round_of_work() -> None:
        started.set()
        release.wait(timeout=5)  # still working when the cancellation comes
        finished.append(True)

    async def shut_down() -> None:
        task = asyncio.create_task(to_completion(round_of_work))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        asyncio.get_running_loop().call_later(0.2, release.set)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished == [True]  # done before the shutdown goes on

    asyncio.run(shut_down())
