from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.exchanges.world import World, make_world


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    return make_world(client, session)
