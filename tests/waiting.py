"""Waiting for a gateway started in a process or a container of its own to answer."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx


def until_answering(
    client: httpx.Client,
    path: str,
    *,
    running: Callable[[], bool],
    output: Callable[[], str],
    timeout: float,
) -> None:
    """Poll ``path`` until it answers 200. Raise with the process's ``output`` when it stopped
    ``running`` first, or when ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not running():
            raise RuntimeError(f"the gateway exited: {output()}")
        try:
            if client.get(path).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the gateway did not answer {path} within {timeout:.0f} s: {output()}")
