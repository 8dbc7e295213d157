"""The audit API: public checkpoint, key and proofs an outsider can check; entries for callers."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from audit import merkle, store
from audit.checkpoint import Checkpoint
from audit.note import Verifier
from gateway.organisations.identifiers import OrganisationRole
from gateway.organisations.models import Organisation
from tests.factories import access_token, bearer, register

AUDIT = "/api/v1/audit"


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_checkpoint_verifies_with_the_published_key(client: TestClient, session: Session) -> None:
    register(session)  # two entries: register and key

    note = client.get(f"{AUDIT}/checkpoint")
    key = client.get(f"{AUDIT}/verifier-key")

    assert note.headers["content-type"].startswith("text/plain")
    checkpoint = Checkpoint.verify(note.text, Verifier.decode(key.text))
    assert checkpoint.origin == "127.0.0.1:8000/audit"
    assert checkpoint.tree_size == 2


def test_inclusion_and_consistency_proofs_verify_independently(
    client: TestClient, session: Session
) -> None:
    for role in OrganisationRole:
        register(session, role)
    size = store.tree_size(session)
    first = Checkpoint.parse_body(client.get(f"{AUDIT}/checkpoint").text.split("\n\n")[0] + "\n")

    inclusion = client.get(f"{AUDIT}/proofs/inclusion", params={"index": 3, "treeSize": size})
    consistency = client.get(f"{AUDIT}/proofs/consistency", params={"first": 4, "second": size})

    proof = inclusion.json()
    assert b64(proof["root_hash"]) == first.root_hash
    assert merkle.verify_inclusion(
        3, size, b64(proof["leaf_hash"]), [b64(h) for h in proof["hashes"]], first.root_hash
    )
    body = consistency.json()
    assert merkle.verify_consistency(
        4, size, [b64(h) for h in body["hashes"]], b64(body["first_root"]), first.root_hash
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("inclusion", {"index": 5, "tree_size": 3}),
        ("inclusion", {"index": 0, "tree_size": 999}),
        ("consistency", {"first": 3, "second": 2}),
        ("consistency", {"first": 0, "second": 2}),
    ],
)
def test_impossible_proofs_are_422(
    client: TestClient, session: Session, path: str, params: dict[str, int]
) -> None:
    register(session)

    response = client.get(f"{AUDIT}/proofs/{path}", params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_admin_actions_are_recorded_with_their_actor(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/organisations",
        json={"role": "school", "name": "De Notenboom", "identifier": "66XY"},
        headers=admin,
    ).json()

    entries = client.get(f"{AUDIT}/entries", headers=admin).json()["items"]

    registered = [
        e["entry"] for e in entries if e["entry"]["action"] == "admin.organisation.register"
    ]
    assert registered[-1]["subject"] == created["id"]
    assert registered[-1]["actor"]["type"] == "organisation"
    assert all(base64.b64decode(e["leaf"]) for e in entries)


def test_a_client_sees_only_its_own_actions_and_reading_is_recorded(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    client.post(
        "/api/v1/organisations",
        json={"role": "swv", "name": "SWV Zuid", "identifier": "PO3001"},
        headers=admin,
    )
    school = bearer(access_token(client, register(session)))

    seen = client.get(f"{AUDIT}/entries", headers=school).json()
    again = client.get(f"{AUDIT}/entries", headers=school).json()

    assert seen["items"] == []  # the school did nothing yet; the admin's entries are not its
    assert [e["entry"]["action"] for e in again["items"]] == ["audit.read"]


def test_entries_need_a_token(client: TestClient) -> None:
    assert client.get(f"{AUDIT}/entries").status_code == 401


def test_no_audit_entry_means_no_action(
    client: TestClient, session: Session, admin: dict[str, str], refusing_audit_store: None
) -> None:
    response = client.post(
        "/api/v1/organisations",
        json={"role": "school", "name": "Nooit Geregistreerd", "identifier": "77ZZ"},
        headers=admin,
    )

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["check"] == "audit"
    session.expire_all()
    assert session.query(Organisation).filter_by(identifier="77ZZ").count() == 0
