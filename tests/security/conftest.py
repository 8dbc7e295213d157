"""The security suite attacks the application the way outsiders would: through HTTP only.

``live`` and ``world`` are the portal suite's: a real gateway on a loopback port, and
organisations of each role acting through its API. ``settings`` lifts the rate limits for the
in-process fuzzing, which would otherwise test the brake instead of the routes.
"""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from tests.portal.conftest import live, world

__all__ = ["live", "world"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit": "100000/second", "token_rate_limit": "100000/second"}
    )
