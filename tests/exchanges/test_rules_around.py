"""Around the exchange flow: guardians are decided and audited, the payload schemas match the
purpose register, sealing round-trips and refuses tampering, and serve runs maintenance."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.exchanges.payload_schemas import PayloadSchemas, default_schema_dir
from gateway.exchanges.sealing import MasterKeyring, Sealed, SealingError, seal, unseal
from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.exchanges.world import YOUNG, World

KEYRING = MasterKeyring((("mk-a", b"a" * 32), ("mk-b", b"b" * 32)))


def test_leerplicht_does_not_record_guardians_and_a_school_does_not_restrict(
    world: World,
) -> None:
    url = "/api/v1/children/guardians"
    body = {**YOUNG, "guardians": [{"relation": "vader", "gezag": True, "restricted": True}]}

    by_leerplicht = world.client.put(url, json=body, headers=world.leerplicht.headers)
    by_school = world.client.put(url, json=body, headers=world.school.headers)
    by_shelter = world.client.put(url, json=body, headers=world.shelter.headers)
    unrestricting = world.client.put(
        url,
        json={**YOUNG, "guardians": [{"relation": "vader", "gezag": True}]},
        headers=world.school.headers,
    )

    assert by_leerplicht.status_code == 403
    assert by_school.json()["reasons"] == [
        "Only an opvang marks a parent as restricted or lifts the mark, not a school."
    ]
    assert by_shelter.status_code == 200 and by_shelter.json()[0]["restricted"] is True
    assert unrestricting.status_code == 403


def test_every_purpose_has_a_schema_with_exactly_its_fields_described_in_dutch() -> None:
    schemas = PayloadSchemas.load(default_schema_dir())
    purposes = PolicyBundle.load(default_policy_dir()).data["purposes"]

    assert set(schemas.validators) == set(purposes)
    for purpose, spec in purposes.items():
        assert schemas.properties(purpose) == set(spec["fields"]), purpose
        properties = schemas.validators[purpose].schema["properties"]
        assert all(p["description"] for p in properties.values()), purpose
        for never in spec["forbidden_fields"]:
            assert never not in properties


@given(plaintext=st.binary(max_size=2048), context=st.binary(min_size=1, max_size=64))
def test_sealing_round_trips(plaintext: bytes, context: bytes) -> None:
    assert unseal(KEYRING, seal(KEYRING, plaintext, context), context) == plaintext


@given(flip=st.integers(min_value=0, max_value=10_000), which=st.sampled_from(["key", "data"]))
def test_any_flipped_byte_is_refused(flip: int, which: str) -> None:
    sealed = seal(KEYRING, b'{"home_language": "Nederlands"}', b"exchange-1")
    if which == "key":
        blob = bytearray(sealed.wrapped_key.blob)
        blob[flip % len(blob)] ^= 1
        tampered = Sealed(type(sealed.wrapped_key)("mk-a", bytes(blob)), sealed.ciphertext)
    else:
        data = bytearray(sealed.ciphertext)
        data[flip % len(data)] ^= 1
        tampered = Sealed(sealed.wrapped_key, bytes(data))

    with pytest.raises(SealingError):
        unseal(KEYRING, tampered, b"exchange-1")


def test_rewrapping_moves_a_key_to_the_current_master_key() -> None:
    older = MasterKeyring((("mk-b", b"b" * 32),))
    sealed = seal(older, b"{}", b"ctx")

    moved = KEYRING.rewrap(sealed.wrapped_key, b"ctx")

    assert moved.key_id == "mk-a"
    assert unseal(KEYRING, Sealed(moved, sealed.ciphertext), b"ctx") == b"{}"
    with pytest.raises(SealingError):
        unseal(MasterKeyring((("mk-c", b"c" * 32),)), sealed, b"ctx")


def test_serve_runs_maintenance_on_its_own(world: World, settings: Settings) -> None:
    signal = world.create(world.school, world.leerplicht, "verzuimmelding", ["signal_type"])
    world.deliver(world.school, signal["id"], {"signal_type": "absence"})
    serving = create_app(settings.model_copy(update={"maintenance_interval": 3600}))
    later = datetime.now(UTC) + timedelta(days=400)
    serving.state.exchanges.clock = lambda: later

    with TestClient(serving, base_url=PUBLIC_URL):
        deadline = time.monotonic() + 20
        while world.status(world.school, signal["id"]) != "expired":
            assert time.monotonic() < deadline, "maintenance did not run"
            time.sleep(0.1)

    read = world.read(world.school, signal["id"]).json()
    assert read["payload"]["shredded_at"] is not None
    assert read["status_reason"] == read["payload"]["shred_reason"] == "retention period ended"
