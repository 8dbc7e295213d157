"""An organisation's officer downloads an export that verifies offline on its own, with the
witnesses' quorum; and a witness's alarm turns every officer page red."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from audit.__main__ import main as audit_main
from audit.checkpoint import Checkpoint
from audit.cosignature import Cosigner
from audit.witness import request_body
from gateway.exchanges.maintenance import run_once
from tests.audit.witnesses import new_cosigner, witness_server
from tests.exchanges.world import World
from tests.portal.family import as_officer, break_glass
from tests.portal.live import LiveGateway, free_port, live_settings, running

COSIGNERS = ("witness.test/a", "witness.test/b")


@pytest.fixture
def cosigners() -> list[Cosigner]:
    return [new_cosigner(name) for name in COSIGNERS]


@pytest.fixture
def live(
    database_url: str, engine: Engine, tmp_path: Path, cosigners: list[Cosigner]
) -> Iterator[LiveGateway]:
    """A gateway with two witnesses, both up."""
    ports = [free_port() for _ in cosigners]
    setting = " ".join(
        f"{c.witness.encode()}=http://127.0.0.1:{p}" for c, p in zip(cosigners, ports, strict=True)
    )
    port = free_port()
    settings = live_settings(database_url, tmp_path / "var", port, audit_witnesses=setting)
    with running(settings, port) as gateway:
        logs = [gateway.app.state.audit_signer.verifier]
        with (
            witness_server(cosigners[0], logs, tmp_path / "a.db", ports[0]),
            witness_server(cosigners[1], logs, tmp_path / "b.db", ports[1]),
        ):
            yield gateway


def unzip(response: httpx.Response, directory: Path) -> Path:
    assert response.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(directory)
    return directory


def test_a_school_officers_export_verifies_offline_and_one_changed_byte_fails(
    live: LiveGateway,
    world: World,
    cosigners: list[Cosigner],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    break_glass(world)  # shelter and school: not this officer's
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    officer = as_officer(live, world, "fg-regenboog", world.other_school.id)

    export = unzip(officer.get("/portaal/fg/export"), tmp_path / "export")
    witnesses = [arg for c in cosigners for arg in ("--witness", c.witness.encode())]
    verified = audit_main(["verify", str(export), *witnesses, "--quorum", "2"])

    out = capsys.readouterr().out
    assert verified == 0, out
    assert "partial export" in out and "not the whole log" in out
    lines = (export / "entries.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries and all("proof" in e for e in entries)
    assert (export / "witness-keys.txt").read_text().split() == [
        c.witness.encode() for c in cosigners
    ]
    tree_size = Checkpoint.parse_body(
        (export / "checkpoints.txt").read_text().split("\n\n")[0] + "\n"
    ).tree_size
    assert len(entries) < tree_size  # a selection, not the log

    for name, offset in (("entries.jsonl", 30), ("checkpoints.txt", 25)):
        changed = tmp_path / f"changed-{name}"
        unzip(officer.get("/portaal/fg/export"), changed)
        raw = bytearray((changed / name).read_bytes())
        raw[offset] = ord("A") if raw[offset] != ord("A") else ord("B")
        (changed / name).write_bytes(bytes(raw))
        assert audit_main(["verify", str(changed), *witnesses, "--quorum", "2"]) == 1, name


def test_a_witness_that_saw_another_history_turns_every_officer_page_red(
    live: LiveGateway, world: World, cosigners: list[Cosigner]
) -> None:
    world.create(world.other_school, world.swv, "tlv-aanvraag", ["onderwijsbehoeften"])
    officer = as_officer(live, world, "fg-regenboog", world.other_school.id)
    signer = live.app.state.audit_signer
    url = live.app.state.audit_witnesses.endpoints[0].url
    other_branch = Checkpoint(signer.name, 1, bytes(32)).sign(signer)  # the key, another log
    assert httpx.post(f"{url}/add-checkpoint", content=request_body(0, [], other_branch)).is_success
    calm = officer.get("/portaal/fg/logboek")

    state = live.app.state
    run_once(state.sessions, state.signals, state.audit_signer, state.audit_witnesses)

    assert "niet in orde" not in calm.text
    for page in ("/portaal/fg/logboek", "/portaal/fg/geweigerd", "/portaal/fg/statistiek"):
        assert "Het logboek is niet in orde" in officer.get(page).text, page
    dashboard = officer.get("/portaal/fg").text
    assert "zag een andere geschiedenis" in dashboard
    assert COSIGNERS[0] in dashboard
