"""Per-client rate limits: a moving window from the ``limits`` library, kept in memory.

API calls are counted per authenticated organisation. The token endpoint is counted per remote
address instead: its caller is not authenticated yet, and counting a *claimed* client id would let
anyone exhaust another organisation's budget. An exhausted window is a 429 problem+json with
``Retry-After``.

Counters live in each worker's memory, so with N workers a client may reach N times the limit;
the limit is a brake on runaway integrations and scrapers, not an accounting of use.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from gateway.errors import TOO_MANY_REQUESTS, GatewayError


class RateLimitedError(GatewayError):
    problem = TOO_MANY_REQUESTS


class RateLimiter:
    def __init__(self, limit: str) -> None:
        self.limit: RateLimitItem = parse(limit)
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *key: str) -> None:
        """Count one request for ``key``; raise 429 when its window is full."""
        if self._window.hit(self.limit, *key):
            return
        reset = self._window.get_window_stats(self.limit, *key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimitedError(
            f"Too many requests: the limit is {self.limit}. Try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


class RateLimits:
    """The gateway's two limits, built from settings once per application."""

    def __init__(self, api: str, token: str) -> None:
        self.api = RateLimiter(api)
        self.token = RateLimiter(token)

    def officer(self, officer_id: str) -> None:
        """Count one read by a privacy officer against the API limit, on a key of their own
        (apart from their organisation's clients), which their portal pages and their reads of
        the audit API share."""
        self.api.hit("officer", officer_id)
