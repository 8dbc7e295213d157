"""Run by ``test_crash`` in a child process that is killed with SIGKILL: through the API,
create exchanges and withdraw every other one, printing a line for each acknowledged answer
(``created <id>``, ``withdrawn <id>``) after the response arrived, until killed.

Configuration comes from the ``GATEWAY_*`` environment the test sets (database, data dir).
"""

from __future__ import annotations

import sys

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings
from tests.factories import access_token, bearer, register
from tests.reliability.writes import GUARDIANS, offer


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    settings = Settings()
    app = create_app(settings)
    with TestClient(app, base_url=settings.public_url) as client:
        with app.state.sessions() as session:
            opvang = register(session, OrganisationRole.OPVANG, token_url=settings.token_url)
            school = register(session, OrganisationRole.SCHOOL, token_url=settings.token_url)
        source = bearer(access_token(client, opvang))
        assert client.put("/api/v1/children/guardians", json=GUARDIANS, headers=source).is_success
        say("ready")
        n = 0
        while True:
            created = client.post(
                "/api/v1/exchanges", json=offer(school.organisation_id), headers=source
            )
            if created.status_code != 201:
                say(f"error {created.status_code} {created.text}")
                sys.exit(1)
            exchange_id = created.json()["id"]
            say(f"created {exchange_id}")
            n += 1
            if n % 2 == 0:
                withdrawn = client.post(
                    f"/api/v1/exchanges/{exchange_id}/withdrawal",
                    json={"reason": "test"},
                    headers=source,
                )
                if withdrawn.status_code != 200:
                    say(f"error {withdrawn.status_code} {withdrawn.text}")
                    sys.exit(1)
                say(f"withdrawn {exchange_id}")


if __name__ == "__main__":
    main()
