"""The gateway and two witnesses, all real HTTP servers, on SQLite and PostgreSQL: checkpoints
are cosigned off the request path and served with their cosignatures, a witness that was down
catches up, and a fork or a restore from an older backup is refused and shown."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import struct
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from audit import store
from audit.checkpoint import Checkpoint
from audit.cosignature import Witness, cosigned_by
from audit.entry import Actor, Entry
from gateway.app import create_app
from gateway.auditing.witnessing import Outcome, standing
from gateway.cli import app as cli
from gateway.exchanges.maintenance import run_once
from gateway.settings import Settings
from tests.audit.witnesses import RunningWitness, new_cosigner, witness_server
from tests.auditing.restore import copy_database
from tests.conftest import PUBLIC_URL
from tests.loopback import serving, url_of
from tests.portal.live import free_port

AUDIT = "/api/v1/audit"
SOMEONE = Actor(type="system", id="test")


def append(app: FastAPI, count: int, action: str = "test.entry") -> int:
    with app.state.sessions() as session:
        for _ in range(count):
            store.append(session, Entry(action=action, actor=SOMEONE, outcome="success"))
        session.commit()
        return store.tree_size(session)


def maintain(app: FastAPI) -> None:
    state = app.state
    run_once(state.sessions, state.signals, state.audit_signer, state.audit_witnesses)


class Witnesses:
    """Two witnesses of the gateway's log, each on a port of its own that outlives a restart."""

    def __init__(self, tmp_path: Path, stack: ExitStack, log_vkey: str) -> None:
        from audit.note import Verifier

        self.tmp_path, self.stack = tmp_path, stack
        self.logs = [Verifier.decode(log_vkey)]
        self.cosigners = [new_cosigner(f"witness.test/w{n}") for n in (1, 2)]
        self.ports = [free_port(), free_port()]
        self.running: dict[int, ExitStack] = {}

    def start(self, n: int) -> RunningWitness:
        inner = ExitStack()
        running = inner.enter_context(
            witness_server(self.cosigners[n], self.logs, self.tmp_path / f"w{n}.db", self.ports[n])
        )
        self.running[n] = inner
        self.stack.callback(inner.close)
        return running

    def setting(self) -> str:
        return " ".join(
            f"{c.witness.encode()}=http://127.0.0.1:{port}"
            for c, port in zip(self.cosigners, self.ports, strict=True)
        )

    @property
    def keys(self) -> list[Witness]:
        return [c.witness for c in self.cosigners]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def witnesses(settings: Settings, tmp_path: Path, stack: ExitStack) -> Witnesses:
    app = create_app(settings)
    app.state.engine.dispose()
    signer = app.state.audit_signer  # the dev key in data_dir, which every gateway here uses
    return Witnesses(tmp_path, stack, signer.verifier.encode())


def gateway(settings: Settings, witnesses: Witnesses, **more: object) -> FastAPI:
    app = create_app(settings.model_copy(update={"audit_witnesses": witnesses.setting(), **more}))
    witnesses.stack.callback(app.state.engine.dispose)
    return app


def independently_cosigned(note: str, vkey: str) -> bool:
    """tlog-cosignature v1 checked from the spec with ``cryptography`` alone: the key id from
    the name and key (type 0x04), then Ed25519 over ``cosignature/v1``, ``time`` and the body."""
    name, _, key_b64 = vkey.split("+", 2)
    public = base64.b64decode(key_b64)[1:]
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    body, _, lines = note.partition("\n\n")
    for line in lines.splitlines():
        line_name, _, blob_b64 = line.removeprefix("\u2014 ").partition(" ")
        blob = base64.b64decode(blob_b64)
        if line_name != name or blob[:4] != key_id:
            continue
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        message = f"cosignature/v1\ntime {timestamp}\n{body}\n".encode()
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)
        except InvalidSignature:
            return False
        return True
    return False


def test_checkpoints_are_cosigned_and_served_with_the_cosignatures(
    settings: Settings, witnesses: Witnesses
) -> None:
    witnesses.start(0), witnesses.start(1)
    app = gateway(settings, witnesses)
    size = append(app, 5)

    maintain(app)

    with TestClient(app, base_url=PUBLIC_URL) as client:
        note = client.get(f"{AUDIT}/checkpoint").text
        listed = client.get(f"{AUDIT}/witness-keys").text.split()
        ready = client.get("/health/ready").json()
    checkpoint = Checkpoint.verify(note, app.state.audit_signer.verifiers)
    assert checkpoint.tree_size == size
    assert set(cosigned_by(note, witnesses.keys)) == {w.encode() for w in witnesses.keys}
    for cosigner in witnesses.cosigners:
        assert independently_cosigned(note, cosigner.witness.encode())
    assert listed == [w.encode() for w in witnesses.keys]
    assert ready["witnesses"] == "ok"


def test_a_proof_by_default_is_against_the_cosigned_checkpoint(
    settings: Settings, witnesses: Witnesses
) -> None:
    """A receipt's link (no tree_size) proves against what /audit/checkpoint serves: with
    witnesses, the cosigned checkpoint, which an entry newer than it is not in yet."""
    witnesses.start(0), witnesses.start(1)
    app = gateway(settings, witnesses)
    cosigned = append(app, 3)
    maintain(app)
    newer = append(app, 1) - 1

    with TestClient(app, base_url=PUBLIC_URL) as client:
        old = client.get(f"{AUDIT}/proofs/inclusion", params={"index": 0})
        waiting = client.get(f"{AUDIT}/proofs/inclusion", params={"index": newer})
        maintain(app)
        later = client.get(f"{AUDIT}/proofs/inclusion", params={"index": newer})

    assert old.status_code == 200 and old.json()["tree_size"] == cosigned
    assert waiting.status_code == 409, waiting.text
    assert waiting.headers["content-type"] == "application/problem+json"
    assert later.status_code == 200 and later.json()["tree_size"] == newer + 1


def test_a_witness_that_was_down_catches_up(settings: Settings, witnesses: Witnesses) -> None:
    witnesses.start(0)  # the second is down
    app = gateway(settings, witnesses)
    append(app, 3)
    maintain(app)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        waiting = client.get(f"{AUDIT}/checkpoint")
        ready = client.get("/health/ready")
    with app.state.sessions() as session:
        down = standing(session, app.state.audit_witnesses).statuses[1]

    witnesses.start(1)
    size = append(app, 4)
    maintain(app)

    assert waiting.status_code == 503
    assert waiting.headers["content-type"] == "application/problem+json"
    assert ready.status_code == 200 and ready.json()["witnesses"].startswith("waiting")
    assert down.outcome is Outcome.UNREACHABLE
    with TestClient(app, base_url=PUBLIC_URL) as client:
        note = client.get(f"{AUDIT}/checkpoint").text
        assert client.get("/health/ready").json()["witnesses"] == "ok"
    assert Checkpoint.verify(note, app.state.audit_signer.verifiers).tree_size == size
    assert len(cosigned_by(note, witnesses.keys)) == 2


@contextmanager
def relay(
    upstream: str, arrived: threading.Event, wait_for: threading.Event | None
) -> Iterator[str]:
    """A relay to a witness that notes each submission's arrival in ``arrived`` and, given
    ``wait_for``, holds it until that event (at most 20 s, well past the gateway's timeout)."""

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived.set()
            if wait_for is not None:
                wait_for.wait(20)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = httpx.post(upstream + self.path, content=body)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Relay) as server:
        yield url_of(server)


def test_the_witnesses_are_asked_at_once(settings: Settings, witnesses: Witnesses) -> None:
    """The first witness answers only once the second has been asked: asked one after the
    other, the first would time out (unreachable); asked at once, both cosign."""
    first, second = witnesses.start(0), witnesses.start(1)
    second_asked = threading.Event()
    with (
        relay(first.url, threading.Event(), wait_for=second_asked) as first_url,
        relay(second.url, second_asked, wait_for=None) as second_url,
    ):
        setting = f"{first.vkey}={first_url} {second.vkey}={second_url}"
        app = create_app(settings.model_copy(update={"audit_witnesses": setting}))
        witnesses.stack.callback(app.state.engine.dispose)
        append(app, 3)

        maintain(app)

    with app.state.sessions() as session:
        found = standing(session, app.state.audit_witnesses).statuses
    assert [s.outcome for s in found] == [Outcome.COSIGNED, Outcome.COSIGNED]


def test_with_a_quorum_of_one_the_checkpoint_is_served_while_a_witness_is_down(
    settings: Settings, witnesses: Witnesses
) -> None:
    witnesses.start(0)
    app = gateway(settings, witnesses, audit_witness_quorum=1)
    append(app, 2)
    maintain(app)

    with TestClient(app, base_url=PUBLIC_URL) as client:
        note = client.get(f"{AUDIT}/checkpoint")

    assert note.status_code == 200
    assert list(cosigned_by(note.text, witnesses.keys)) == [witnesses.keys[0].encode()]


def test_a_fork_under_one_key_is_refused_and_shown(
    settings: Settings,
    witnesses: Witnesses,
    second_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    witnesses.start(0), witnesses.start(1)
    honest = gateway(settings, witnesses)
    append(honest, 4, "honest")
    maintain(honest)
    forked = gateway(settings, witnesses, database_url=second_database)  # same key and origin
    append(forked, 9, "forked")

    maintain(forked)

    with TestClient(forked, base_url=PUBLIC_URL) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["check"] == "witnesses"
    assert "not consistent" in ready.json()["detail"]
    with forked.state.sessions() as session:
        assert {s.outcome for s in standing(session, forked.state.audit_witnesses).statuses} == {
            Outcome.INCONSISTENT
        }
    verified = verify_with_witnesses(monkeypatch, settings, second_database, witnesses)
    assert verified.exit_code == 1
    assert "inconsistent" in verified.output


def verify_with_witnesses(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, database_url: str, witnesses: Witnesses
) -> Result:
    """``gateway audit verify --witnesses`` as an operator runs it against ``database_url``."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", settings.public_url)
    monkeypatch.setenv("GATEWAY_AUDIT_WITNESSES", witnesses.setting())
    return CliRunner().invoke(cli, ["audit", "verify", "--witnesses"])


def test_a_restore_from_an_older_backup_is_refused_and_shown(
    settings: Settings,
    witnesses: Witnesses,
    second_database: str,
    engine: Engine,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    witnesses.start(0), witnesses.start(1)
    live = gateway(settings, witnesses)
    append(live, 3)
    maintain(live)
    copy_database(engine, second_database)  # the backup
    cosigned = append(live, 6)
    maintain(live)
    restored = gateway(settings, witnesses, database_url=second_database)
    append(restored, 2)  # it keeps working after the restore, below what was cosigned

    maintain(restored)

    with TestClient(restored, base_url=PUBLIC_URL) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert f"has cosigned {cosigned} entries" in ready.json()["detail"]
    with restored.state.sessions() as restored_session:
        found = standing(restored_session, restored.state.audit_witnesses)
    assert {s.outcome for s in found.alarms} == {Outcome.ROLLBACK}
    verified = verify_with_witnesses(monkeypatch, settings, second_database, witnesses)
    assert verified.exit_code == 1
    assert "rolled back" in verified.output

    # Each witness's operator accepts the restored log as the continuation (README, restore).
    for n in (0, 1):
        with sqlite3.connect(witnesses.tmp_path / f"w{n}.db") as state:
            state.execute("DELETE FROM cosigned")
        state.close()
    maintain(restored)
    with restored.state.sessions() as restored_session:
        after = standing(restored_session, restored.state.audit_witnesses)
    assert not after.alarms and not after.waiting
