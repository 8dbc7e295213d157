"""The log as tiles on a running gateway: Go's ``sumdb/tlog`` rebuilds the signed root from the
served tiles alone, and ``python -m audit mirror`` follows the log's growth, refuses a forged
tile, a rollback, a fork and a key it was not given, and proves an officer's export offline
from its own tiles. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from audit import store
from audit.__main__ import main as audit_main
from audit.entry import Actor, Entry
from audit.tiles import Tile
from gateway.exchanges.maintenance import run_once
from tests.audit.witnesses import new_cosigner, witness_server
from tests.auditing.restore import copy_database
from tests.exchanges.world import World
from tests.loopback import serving, url_of
from tests.portal.family import as_officer
from tests.portal.live import LiveGateway, free_port, live_settings, running
from tests.portal.test_officer_witnesses import unzip

ORIGIN = "kindkoppeling.test/audit"  # one log, whichever port serves it
SOMEONE = Actor(type="system", id="test")


def tlogcheck() -> str:
    path = os.environ.get("GATEWAY_TEST_TLOGCHECK")
    if not path:
        raise RuntimeError(
            "GATEWAY_TEST_TLOGCHECK is not set: run scripts/test, which builds the Go check of "
            "the tiles (scripts/tlog-go prints the value)"
        )
    return path


@contextmanager
def gateway(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[LiveGateway]:
    port = free_port()
    settings = live_settings(database_url, data_dir, port, audit_origin=ORIGIN, **overrides)
    with running(settings, port) as live:
        yield live


@pytest.fixture
def live(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[LiveGateway]:
    with gateway(database_url, tmp_path / "var") as running_gateway:
        yield running_gateway


def prefix(live: LiveGateway) -> str:
    return f"{live.url}/api/v1/audit"


def vkey(live: LiveGateway) -> str:
    return str(live.app.state.audit_signer.verifier.encode())


def grow(live: LiveGateway, count: int, action: str = "test.tile") -> int:
    with live.app.state.sessions() as session:
        batch = [Entry(action=action, actor=SOMEONE, outcome="success") for _ in range(count)]
        store.append_batch(session, batch)
        session.commit()
        return store.tree_size(session)


def mirror(url: str, directory: Path, *keys: str, more: tuple[str, ...] = ()) -> int:
    keyed = [arg for key in keys for arg in ("--verifier-key", key)]
    return audit_main(["mirror", url, str(directory), *keyed, *more])


@contextmanager
def forging(upstream: str, path: str) -> Iterator[str]:
    """A proxy in front of ``upstream`` that serves ``path`` with one byte changed."""

    class Forger(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with urllib.request.urlopen(upstream + self.path) as answer:  # noqa: S310
                body = bytearray(answer.read())
            if self.path.endswith(path):
                body[40] ^= 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(bytes(body))

        def log_message(self, *args: object) -> None:
            pass

    with serving(Forger) as server:
        yield f"{url_of(server)}/api/v1/audit"


def test_an_outsider_rebuilds_the_signed_root_from_the_served_tiles_alone(
    live: LiveGateway,
) -> None:
    size = grow(live, 700)

    checked = subprocess.run(
        [tlogcheck(), prefix(live), vkey(live), "0", "299", "699"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert checked.returncode == 0, checked.stderr
    with live.app.state.sessions() as session:
        root = base64.b64encode(store.root(session, size)).decode()
        leaves = {i: base64.b64encode(store.leaf_hash(session, i)).decode() for i in (0, 299, 699)}
    assert checked.stdout.splitlines() == [
        f"OK {size} {root}",
        *(f"inclusion {i} {leaf}" for i, leaf in leaves.items()),
    ]
    with forging(live.url, "tile/0/001") as forged:
        refused = subprocess.run(
            [tlogcheck(), forged, vkey(live), "300"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    # The root needs no level-0 tile; the proof of entry 300 reads the forged one.
    assert refused.returncode == 1
    assert refused.stdout.startswith(f"OK {size} {root}")
    assert "invalid transparency proof" in refused.stderr


def test_tiles_are_served_as_the_spec_says_and_entry_bundles_not_at_all(
    live: LiveGateway,
) -> None:
    grow(live, 300)

    def get(path: str) -> tuple[int, httpx.Headers, bytes]:
        answer = httpx.get(f"{prefix(live)}/{path}")
        return answer.status_code, answer.headers, answer.content

    status, headers, body = get(Tile(0, 0).path)
    assert (status, len(body)) == (200, 8192)
    assert headers["Content-Type"] == "application/octet-stream"
    assert "immutable" in headers["Cache-Control"]
    status, headers, body = get(Tile(0, 1, 44).path)
    assert (status, len(body)) == (200, 44 * 32)
    assert "immutable" not in headers["Cache-Control"] and "max-age=60" in headers["Cache-Control"]
    assert get(Tile(1, 0, 1).path)[0] == 200
    for missing in (Tile(0, 1, 45).path, Tile(0, 1).path, "tile/0/5", "tile/entries/000"):
        status, headers, body = get(missing)
        assert status == 404, missing
        assert headers["Content-Type"] == "application/problem+json"
    assert b"no entry bundles" in get("tile/entries/000")[2]


def test_the_mirror_follows_growth_and_refuses_a_forged_tile(
    live: LiveGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grow(live, 300)
    copy = tmp_path / "mirror"

    assert mirror(prefix(live), copy, vkey(live)) == 0
    first = capsys.readouterr().out
    assert "OK: 300 entries" in first and "3 tiles fetched" in first
    grow(live, 500)
    assert (
        mirror(
            prefix(live), copy, vkey(live), more=("--follow", "--rounds", "2", "--interval", "0")
        )
        == 0
    )
    rounds = capsys.readouterr().out.splitlines()
    assert rounds[0].startswith("OK: 800 entries") and "consistent with the 300 before" in rounds[0]
    assert rounds[1].startswith("OK: 800 entries") and "0 tiles fetched" in rounds[1]
    assert (copy / "tile/0/002").exists() and not (copy / "tile/0/001.p").exists()

    grow(live, 300)
    kept = (copy / "checkpoint").read_text()
    for forged_path, fault in (
        ("tile/0/003", "tile/0/003 does not hash"),
        ("tile/0/004.p/76", "give root"),
    ):
        with forging(live.url, forged_path) as forged:
            assert mirror(forged, copy, vkey(live)) == 1, forged_path
        assert fault in capsys.readouterr().err
        assert (copy / "checkpoint").read_text() == kept
        assert not (copy / "tile/0/003").exists()
    assert mirror(prefix(live), copy, vkey(live)) == 0


def test_the_mirror_refuses_a_rollback_and_a_fork(
    database_url: str,
    engine: Engine,
    second_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy = tmp_path / "mirror"
    with gateway(database_url, tmp_path / "var") as live:
        key = vkey(live)
        grow(live, 300)
        copy_database(engine, second_database)  # the backup
        grow(live, 200)
        assert mirror(prefix(live), copy, key) == 0
    kept = (copy / "checkpoint").read_text()

    with gateway(second_database, tmp_path / "var") as restored:  # same key, same origin
        grow(restored, 10)
        assert mirror(prefix(restored), copy, key) == 1
        assert "rollback: the log now signs a tree of 310 entries" in capsys.readouterr().err
        grow(restored, 190, "another history")
        assert mirror(prefix(restored), copy, key) == 1
        assert "fork: the log signed two different trees of 500" in capsys.readouterr().err
        grow(restored, 1)
        assert mirror(prefix(restored), copy, key) == 1
        assert "does not contain the tree of 500 entries" in capsys.readouterr().err
    assert (copy / "checkpoint").read_text() == kept


def test_after_a_key_rotation_the_mirror_needs_the_new_key_and_keeps_its_history(
    database_url: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "mirror"
    with gateway(database_url, tmp_path / "var") as before:
        old_key = vkey(before)
        grow(before, 300)
        assert mirror(prefix(before), copy, old_key) == 0
    new_pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    rotated = {"checkpoint_signing_key": new_pem, "checkpoint_retired_keys": old_key}
    with gateway(database_url, tmp_path / "var", **rotated) as after:
        new_key = vkey(after)
        grow(after, 50)
        capsys.readouterr()

        assert mirror(prefix(after), copy, old_key) == 1
        assert "not signed by a key you trust" in capsys.readouterr().err
        assert mirror(prefix(after), copy, old_key, new_key) == 0
        assert "consistent with the 300 before" in capsys.readouterr().out
    assert new_key != old_key


def test_an_officers_export_verifies_offline_from_their_own_mirror(
    live: LiveGateway, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    officer = as_officer(live, world, "fg-regenboog", world.other_school.id)
    export = unzip(officer.get("/portaal/fg/export"), tmp_path / "export")
    copy = tmp_path / "mirror"
    assert mirror(prefix(live), copy, vkey(live)) == 0
    capsys.readouterr()

    checked = audit_main(
        ["check-inclusion", str(export), "--tiles", str(copy), "--verifier-key", vkey(live)]
    )

    assert checked == 0, capsys.readouterr().err
    assert "proved from the mirror's own tiles" in capsys.readouterr().out
    lines = (export / "entries.jsonl").read_text().splitlines()
    changed = lines[0].replace('"leaf": "ey', '"leaf": "eX', 1)
    assert changed != lines[0]
    (export / "entries.jsonl").write_text("\n".join([changed, *lines[1:]]) + "\n")
    assert (
        audit_main(
            ["check-inclusion", str(export), "--tiles", str(copy), "--verifier-key", vkey(live)]
        )
        == 1
    )


def test_the_mirror_demands_its_quorum_of_witnesses(
    database_url: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    witness, stranger = new_cosigner("witness.test/w1"), new_cosigner("witness.test/other")
    port = free_port()
    setting = f"{witness.witness.encode()}=http://127.0.0.1:{port}"
    with gateway(database_url, tmp_path / "var", audit_witnesses=setting) as live:
        logs = [live.app.state.audit_signer.verifier]
        with witness_server(witness, logs, tmp_path / "w1.db", port):
            grow(live, 300)
            state = live.app.state
            run_once(state.sessions, state.signals, state.audit_signer, state.audit_witnesses)
            copy = tmp_path / "mirror"
            trusted = ("--witness", witness.witness.encode())
            strangers = ("--witness", stranger.witness.encode())

            assert mirror(prefix(live), copy, vkey(live), more=trusted) == 0
            assert mirror(prefix(live), copy, vkey(live), more=strangers) == 1
            assert "0 of the 1 cosignatures required verify" in capsys.readouterr().err
            both = (*trusted, *strangers)
            assert mirror(prefix(live), copy, vkey(live), more=(*both, "--quorum", "2")) == 1
            assert mirror(prefix(live), copy, vkey(live), more=(*both, "--quorum", "1")) == 0
