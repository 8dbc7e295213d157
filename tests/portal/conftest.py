"""Portal tests run against a real gateway on a loopback port (``live``): login is OpenID
Connect, so the portal calls the dev identity provider over HTTP as it would call a broker. The
organisations' side of each story goes through the API of the same application object."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.exchanges.world import World, make_world
from tests.portal.live import LiveGateway, live_gateway
from tests.portal.mail import Inbox, receiving


@pytest.fixture
def live(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway(database_url, tmp_path / "var") as gateway:
        yield gateway


@pytest.fixture
def world(live: LiveGateway, session: Session) -> World:
    return make_world(TestClient(live.app, base_url=live.url), session)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on loopback keeping what it receives, and its port."""
    with receiving() as received:
        yield received
