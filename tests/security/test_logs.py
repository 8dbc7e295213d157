"""After a full scenario through HTTP (API, parents' and officers' portal, maintenance) at
DEBUG level, the captured logs hold no key material, no token, no session cookie, no BSN and no
payload value."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.exchanges import expiry
from gateway.keys import KEY_FILE_NAME
from gateway.portal.dev_people import DEV_PEOPLE
from tests.exchanges.world import WARM_FIELDS, WARM_PAYLOAD, make_world
from tests.portal.family import NOOR, as_officer, break_glass, offer_warm, parent
from tests.portal.live import LiveGateway, csrf_of, live_gateway, log_in
from tests.portal.test_family_pages import answer
from tests.tally import TALLY

JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.")


@pytest.fixture
def chatty(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway(database_url, tmp_path / "var", log_level="DEBUG") as gateway:
        yield gateway


def secrets_of(data_dir: Path) -> list[str]:
    """Every dev secret, in each form it could leak in: as stored, decoded to hex, PEM body."""
    forms: list[str] = []
    for value in json.loads((data_dir / KEY_FILE_NAME).read_text()).values():
        for part in re.split(r"[,\n]", value):
            part = part.split(":", 1)[-1].strip()  # master keys are <id>:<base64>
            if not part or part.startswith("-----"):
                continue
            forms.append(part)
            with contextlib.suppress(ValueError):
                forms.append(base64.b64decode(part + "==", validate=False).hex())
    return [f for f in forms if len(f) >= 16]


@pytest.fixture
def captured_logs(chatty: LiveGateway) -> Iterator[io.StringIO]:
    """Every log record, formatted exactly as the gateway's own handler formats it."""
    root = logging.getLogger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def test_no_secret_token_bsn_or_payload_value_reaches_the_logs(
    chatty: LiveGateway, captured_logs: io.StringIO, session: Session
) -> None:
    world = make_world(TestClient(chatty.app, base_url=chatty.url), session)
    exchange_id = offer_warm(world, NOOR, parent("moeder", "fatma"), parent("vader", "pieter"))
    for person in ("fatma", "pieter"):
        browser = log_in(chatty, person)
        consent_ids = re.findall(
            r'href="/portaal/verzoeken/([0-9a-f-]{36})"', browser.get("/portaal").text
        )
        for consent_id in consent_ids:
            assert answer(browser, consent_id, "grant", WARM_FIELDS).status_code == 200
    assert world.deliver(world.kinderopvang, exchange_id, WARM_PAYLOAD).status_code == 200
    assert world.fetch(world.school, exchange_id).status_code == 200
    break_glass(world)
    officer = as_officer(chatty, world, "fg-regenboog", world.school.id)
    queue = officer.get("/portaal/fg/break-glass")
    officer.get("/portaal/fg/export")
    officer.post("/portaal/uitloggen", data={"csrf_token": csrf_of(queue.text)})
    world.client.get("/api/v1/exchanges/not-an-id", headers=world.stranger.headers)
    world.client.get("/api/v1/exchanges", headers={"Authorization": "Bearer eyJhbGciOi.eyJzdWIi.x"})
    expiry.expire_due(world.exchanges, world.session)

    captured = captured_logs.getvalue()
    assert '"event": "request"' in captured  # the capture did see the gateway's logs
    assert '"level": "debug"' in captured or "debug" in captured.lower()
    forbidden = [
        *secrets_of(chatty.app.state.settings.data_dir),
        *(person.bsn for person in DEV_PEOPLE if person.bsn),
        NOOR["bsn"],
        *WARM_PAYLOAD.values(),
    ]
    assert len(forbidden) > 10
    for value in forbidden:
        assert value not in captured, f"found in the logs: {value[:6]}…"
    leak = JWT.search(captured)
    assert not leak, captured[max(0, leak.start() - 300) : leak.start()]
    assert "kk_session=" not in captured
    TALLY["log_lines_scanned"] += captured.count("\n")
