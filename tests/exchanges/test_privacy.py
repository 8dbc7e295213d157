"""What lies in the database: ciphertext only, never a stripped field, nothing after shredding,
no BSN anywhere after a full scenario, and master keys that rotate without touching payloads."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from audit.tables import metadata as audit_metadata
from gateway.exchanges import expiry, key_rotation
from gateway.exchanges.sealing import (
    MasterKeyring,
    Sealed,
    SealingError,
    WrappedKey,
    payload_context,
    unseal,
)
from gateway.models import metadata
from tests.exchanges.world import TEEN, WARM_FIELDS, WARM_PAYLOAD, YOUNG, World


def raw_payload(engine: Engine, exchange_id: str) -> dict[str, object]:
    """The payloads row as the database holds it, read around the ORM."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT key_id, wrapped_key, ciphertext FROM payloads WHERE exchange_id = :id"),
            {"id": exchange_id},
        ).one()
    return dict(row._mapping)


def decrypt(keyring: MasterKeyring, row: dict[str, object], exchange_id: str) -> dict[str, object]:
    sealed = Sealed(
        WrappedKey(str(row["key_id"]), bytes(row["wrapped_key"])),  # type: ignore[arg-type]
        bytes(row["ciphertext"]),  # type: ignore[arg-type]
    )
    document: dict[str, object] = json.loads(unseal(keyring, sealed, payload_context(exchange_id)))
    return document


def consented_warm_overdracht(world: World, fields: list[str]) -> dict:  # type: ignore[type-arg]
    world.guardians(world.kinderopvang, YOUNG, {"relation": "moeder", "gezag": True})
    offer = world.create(world.kinderopvang, world.school, "warme-overdracht", WARM_FIELDS)
    world.grant_all(offer["id"], fields=fields)
    assert world.deliver(world.kinderopvang, offer["id"], WARM_PAYLOAD).status_code == 200
    return offer


def test_a_stripped_field_never_reaches_the_database(world: World, engine: Engine) -> None:
    offer = consented_warm_overdracht(world, ["development_summary"])

    row = raw_payload(engine, offer["id"])
    stored = decrypt(world.exchanges.keyring, row, offer["id"])

    assert stored == {"development_summary": WARM_PAYLOAD["development_summary"]}
    for value in WARM_PAYLOAD.values():
        assert value.encode() not in bytes(row["ciphertext"])  # type: ignore[arg-type]


def test_after_shredding_the_row_cannot_be_decrypted(world: World, engine: Engine) -> None:
    offer = consented_warm_overdracht(world, WARM_FIELDS)
    before = raw_payload(engine, offer["id"])

    world.client.post(f"/api/v1/exchanges/{offer['id']}/withdrawal", headers=world.school.headers)

    after = raw_payload(engine, offer["id"])
    assert after == {"key_id": None, "wrapped_key": None, "ciphertext": None}
    url = make_url(str(engine.url))
    if url.get_backend_name() == "sqlite":  # not even in the file's free pages
        engine.dispose()
        raw = Path(url.database or "").read_bytes()
        assert bytes(before["wrapped_key"]) not in raw  # type: ignore[arg-type]
    # Even a copy of the old ciphertext is useless once the wrapped key is gone:
    with pytest.raises(SealingError):
        stolen = {**before, "wrapped_key": os.urandom(60)}
        decrypt(world.exchanges.keyring, stolen, offer["id"])


def test_a_payload_does_not_open_under_another_exchange(world: World, engine: Engine) -> None:
    offer = consented_warm_overdracht(world, WARM_FIELDS)
    row = raw_payload(engine, offer["id"])

    with pytest.raises(SealingError):
        decrypt(world.exchanges.keyring, row, "another-exchange")


def test_master_key_rotation_rewraps_and_payloads_still_open(world: World, engine: Engine) -> None:
    offer = consented_warm_overdracht(world, WARM_FIELDS)
    old = world.exchanges.keyring
    new = MasterKeyring((("mk-new", b"n" * 32), *old.keys))
    world.exchanges.keyring = new

    moved = key_rotation.rewrap_keys(world.exchanges.keyring, world.session)

    assert moved == 1
    row = raw_payload(engine, offer["id"])
    assert row["key_id"] == "mk-new"
    world.exchanges.keyring = MasterKeyring((("mk-new", b"n" * 32),))  # the old key is gone
    assert world.fetch(world.school, offer["id"]).json()["fields"] == WARM_PAYLOAD
    assert key_rotation.rewrap_keys(world.exchanges.keyring, world.session) == 0


def test_no_bsn_in_the_database_or_the_logs_after_a_full_scenario(
    world: World, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    offer = consented_warm_overdracht(world, WARM_FIELDS)
    world.fetch(world.school, offer["id"])
    world.client.put(
        "/api/v1/children/safety-code",
        json={**TEEN, "safety_code": "oranje"},
        headers=world.shelter.headers,
    )
    world.create(world.school, world.leerplicht, "verzuimmelding", ["signal_type"], child=TEEN)
    world.create(
        world.school,
        world.leerplicht,
        "verzuimmelding",
        ["signal_type"],
        child={**YOUNG, "birth_date": "2020-01-01"},
        expect=422,
    )
    expiry.expire_due(world.exchanges, world.session)
    bsns = [YOUNG["bsn"], TEEN["bsn"]]

    logs = capfd.readouterr()
    for bsn in bsns:
        assert bsn not in logs.out + logs.err
    for value in WARM_PAYLOAD.values():
        assert value not in logs.out + logs.err
    with engine.connect() as connection:
        for table in [*metadata.sorted_tables, *audit_metadata.sorted_tables]:
            for row in connection.execute(table.select()):
                dumped = repr(tuple(row))
                for bsn in bsns:
                    assert bsn not in dumped, table.name
                    assert base64.b64encode(bsn.encode()).decode() not in dumped
    url = make_url(str(engine.url))
    if url.get_backend_name() == "sqlite":
        engine.dispose()  # checkpoint the WAL into the file
        files = [Path(url.database or "")]
        files += [Path(f"{url.database}{suffix}") for suffix in ("-wal", "-shm")]
        for path in files:
            if path.exists():
                raw = path.read_bytes()
                for bsn in bsns:
                    assert bsn.encode() not in raw, path
