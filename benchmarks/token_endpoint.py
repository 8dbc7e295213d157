"""Cost of the token endpoint relative to its cryptographic floor.

Subject: a full ``POST /oauth/token`` (client credentials, ``private_key_jwt``) through the ASGI
app with a SQLite database: form parsing, client lookup, signature and claim checks, the jti
insert, token signing, middleware and logging. Floor: the work no implementation can skip, one
ES256 verify of the assertion and one ES256 sign of the access token, timed in the same run.
A second floor is a no-op request (``GET /health/live``) through the same app and client, so the
ratio against it shows what the token work adds to the framework's own cost. Prints all three
and both ratios; exits non-zero when the ratio against the no-op request is above the target.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from audit.entry import Actor
from gateway.app import create_app
from gateway.auth.assertions import sign_client_assertion, token_request_form
from gateway.organisations import service
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings

BENCH = Actor(type="system", id="benchmark")
TARGET_RATIO = 4.0
ROUNDS = 5
PER_ROUND = 200


def best_per_call(fn: Callable[[], object], calls: int = PER_ROUND) -> float:
    """Median over rounds of the mean time per call, in seconds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - started) / calls)
    return statistics.median(rounds)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            log_level="WARNING",
            token_rate_limit="1000000/second",  # noqa: S106 - a rate, not a secret
        )
        app = create_app(settings)
        logging.getLogger().setLevel(logging.WARNING)
        with TestClient(app, base_url=settings.public_url) as client:
            with app.state.sessions() as session:
                organisation = service.register_organisation(
                    session,
                    actor=BENCH,
                    role=OrganisationRole.SCHOOL,
                    name="Bench",
                    identifier="99ZZ",
                )
                key = ECKey.generate_key("P-256", private=True)
                key.ensure_kid()
                service.add_key(session, organisation.id, key.as_dict(private=False), actor=BENCH)

            assertions = iter(
                sign_client_assertion(key, organisation.id, settings.token_url)
                for _ in range(ROUNDS * PER_ROUND + 10)
            )

            def issue() -> None:
                response = client.post("/oauth/token", data=token_request_form(next(assertions)))
                assert response.status_code == 200, response.text

            def no_op() -> None:
                assert client.get("/health/live").status_code == 200

            issue()  # warm up
            subject = best_per_call(issue)
            request_floor = best_per_call(no_op)

        signing = ECKey.generate_key("P-256", private=True)
        sample = sign_client_assertion(key, organisation.id, settings.token_url)

        def floor_work() -> None:
            jwt.decode(sample, key, algorithms=["ES256"])
            jwt.encode({"alg": "ES256"}, {"sub": organisation.id}, signing)

        crypto_floor = best_per_call(floor_work)

    ratio = subject / request_floor
    print(f"token endpoint:  {subject * 1e3:.3f} ms/request")
    print(f"no-op request:   {request_floor * 1e3:.3f} ms/request")
    print(f"crypto floor:    {crypto_floor * 1e3:.3f} ms/request")
    print(f"ratio to crypto floor: {subject / crypto_floor:.1f} (informational)")
    print(f"ratio to no-op request: {ratio:.1f} (target <= {TARGET_RATIO})")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
