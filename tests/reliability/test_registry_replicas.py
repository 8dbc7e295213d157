"""Two ``gateway serve`` processes on one PostgreSQL database, each holding copies of the
registry: a suspension, a key removal and a staff removal made through one take effect on the
other within the bound SECURITY.md documents (``registry_cache_seconds``, 2 s)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from gateway.auth.assertions import token_request_form
from gateway.db import make_engine, make_sessionmaker
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.conftest import migrated_database
from tests.factories import RegisteredClient, bearer, register, within_registry_bound
from tests.portal.live import free_port
from tests.reliability.processes import REPO, gateway_process


@pytest.fixture
def database(server_backend: str, tmp_path: Path) -> Iterator[str]:
    with migrated_database(server_backend, tmp_path) as url:
        yield url


def refused_within_bound(call: Callable[[], httpx.Response]) -> bool:
    return within_registry_bound(call, lambda answer: answer.status_code == 401).status_code == 401


def test_a_change_through_one_replica_takes_effect_on_the_other_within_the_bound(
    database: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{ports[0]}"  # one issuer and audience for both
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database,
        "GATEWAY_DATA_DIR": str(tmp_path / "var"),
        "GATEWAY_PUBLIC_URL": public_url,
        "GATEWAY_MAINTENANCE_INTERVAL": "0",
        "GATEWAY_OUTBOX_INTERVAL": "0",
        "PYTHONPATH": str(REPO),
    }
    settings = Settings(data_dir=tmp_path / "var", database_url=database, public_url=public_url)
    engine = make_engine(database)
    with ExitStack() as stack:
        changing, _ = stack.enter_context(gateway_process(env, ports[0]))  # makes the keys ...
        other, _ = stack.enter_context(gateway_process(env, ports[1]))  # ... for both
        with make_sessionmaker(engine)() as session:
            operator, suspended, keyless, staffed = (
                register(session, role, token_url=settings.token_url)
                for role in (
                    OrganisationRole.GATEWAY,
                    OrganisationRole.SCHOOL,
                    OrganisationRole.SCHOOL,
                    OrganisationRole.SCHOOL,
                )
            )
        one = stack.enter_context(httpx.Client(base_url=changing, timeout=30))
        two = stack.enter_context(httpx.Client(base_url=other, timeout=30))

        def token(
            client: httpx.Client, party: RegisteredClient, *, staff: bool = False
        ) -> httpx.Response:
            form = party.staff_form() if staff else token_request_form(party.assertion(), None)
            return client.post("/oauth/token", data=form)

        def me(party_token: dict[str, str]) -> Callable[[], httpx.Response]:
            return lambda: two.get("/api/v1/organisations/me", headers=party_token)

        admin = bearer(token(one, operator).json()["access_token"])
        of_suspended = bearer(token(two, suspended).json()["access_token"])
        of_staff = bearer(token(two, staffed, staff=True).json()["access_token"])
        staffed_own = bearer(token(one, staffed).json()["access_token"])
        assert me(of_suspended)().status_code == 200  # the other replica holds them now
        assert me(of_staff)().status_code == 200
        assert token(two, keyless).status_code == 200

        suspension = one.patch(
            f"/api/v1/organisations/{suspended.organisation_id}",
            json={"status": "suspended"},
            headers=admin,
        )
        suspension_seen = refused_within_bound(me(of_suspended))
        kid = keyless.key.kid
        removal = one.delete(
            f"/api/v1/organisations/{keyless.organisation_id}/keys/{kid}", headers=admin
        )
        key_removal_seen = refused_within_bound(lambda: token(two, keyless))
        staff_removal = one.delete(
            f"/api/v1/organisations/me/staff/{staffed.staff_id}", headers=staffed_own
        )
        staff_removal_seen = refused_within_bound(me(of_staff))
    engine.dispose()

    assert suspension.status_code == 200, suspension.text
    assert suspension_seen
    assert removal.status_code == 204, removal.text
    assert key_removal_seen
    assert staff_removal.status_code == 204, staff_removal.text
    assert staff_removal_seen
