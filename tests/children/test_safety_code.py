"""Safety codes: only an opvang sets them, rood is lowered only by its setter, all audited,
and the BSN is nowhere in the database."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from audit import store
from gateway.children.models import Child
from gateway.models import metadata
from gateway.organisations.identifiers import OrganisationRole
from tests.factories import access_token, bearer, register

URL = "/api/v1/children/safety-code"
BSN, BIRTH = "111222333", "2019-03-12"


def put_code(client: TestClient, headers: dict[str, str], code: str, **changes: str):  # type: ignore[no-untyped-def]
    body = {"bsn": BSN, "birth_date": BIRTH, "safety_code": code} | changes
    return client.put(URL, json=body, headers=headers)


def last_entry(session: Session) -> dict:  # type: ignore[type-arg]
    leaves = list(store.iter_leaves(session))
    return json.loads(leaves[-1][1])  # type: ignore[no-any-return]


def test_an_opvang_sets_rood_and_it_is_audited_by_reference(
    client: TestClient, session: Session
) -> None:
    shelter = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))

    response = put_code(client, shelter, "rood")

    assert response.status_code == 200, response.text
    assert response.json()["safety_code"] == "rood"
    entry = last_entry(session)
    assert entry["action"] == "safety.change"
    assert entry["outcome"] == "allowed"
    assert entry["extra"] == {"from": "none", "to": "rood", "staff_role": "pedagogisch medewerker"}
    assert entry["child_ref"] and BSN not in json.dumps(entry)


def test_a_school_is_refused_and_the_refusal_is_on_record(
    client: TestClient, session: Session
) -> None:
    school = bearer(access_token(client, register(session, OrganisationRole.SCHOOL)))

    response = put_code(client, school, "groen")

    assert response.status_code == 403
    assert response.json()["reasons"] == ["Only an opvang sets safety codes, not a school."]
    assert last_entry(session)["outcome"] == "denied"
    session.expire_all()
    assert session.scalars(select(Child)).one().safety_code is None


def test_only_the_shelter_that_set_rood_can_lower_it(client: TestClient, session: Session) -> None:
    first = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))
    second = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))
    put_code(client, first, "rood")

    assert put_code(client, second, "groen").status_code == 403
    assert put_code(client, first, "oranje").json()["safety_code"] == "oranje"


def test_a_wrong_birth_date_is_refused_without_revealing_the_right_one(
    client: TestClient, session: Session
) -> None:
    shelter = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))
    put_code(client, shelter, "oranje")

    response = put_code(client, shelter, "rood", birth_date="2018-01-01")

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/birth_date"
    assert BIRTH not in response.text


def test_an_invalid_bsn_is_refused_without_echo(client: TestClient, session: Session) -> None:
    shelter = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))

    response = put_code(client, shelter, "rood", bsn="111222334")

    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/bsn"
    assert "111222334" not in response.text


def test_no_bsn_anywhere_in_the_database(
    client: TestClient, session: Session, engine: Engine
) -> None:
    shelter = bearer(access_token(client, register(session, OrganisationRole.OPVANG)))
    put_code(client, shelter, "rood")
    put_code(client, shelter, "oranje")

    with engine.connect() as connection:
        tables = [t.name for t in metadata.sorted_tables]
        tables += ["audit_entries", "audit_child_refs", "audit_checkpoints"]
        for table in tables:
            for row in connection.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                assert BSN not in repr(tuple(row)), table
