"""Create throughput of two gateway processes against one, on PostgreSQL, in the same run.

Subject: two ``gateway serve`` processes (one worker each) on one PostgreSQL database, the load
split between them. Floor: one such process alone, under the same total load. The load comes
from Debian's ``wrk`` (one process per gateway, its own CPU), posting the create of
``exchange_api.py`` (a verzuimmelding, decided in full and allowed) with keep-alive
connections. Prints both rates, the ratio (target >= 1.5 on a two-core machine) and, for each
gateway process, the CPU time it spent per create (from /proc). Exits non-zero below the target.

Needs PostgreSQL: ``GATEWAY_TEST_POSTGRES_URL`` (``scripts/postgres`` prints one) and ``wrk``
(``apt-get install -y wrk``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.exchange_api import BENCH_STAFF, register
from gateway.auth.assertions import staff_token_request_form
from gateway.db import make_engine, make_sessionmaker
from gateway.organisations.identifiers import OrganisationRole
from tests.conftest import migrated_database
from tests.policy.opa_test_server import free_port
from tests.reliability.processes import gateway_process

TARGET = 1.5
WRK = "/usr/bin/wrk"  # Debian's package
SECONDS = 10
CONNECTIONS = 8  # in all, split over the gateways
LUA = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(urls: list[str], script: Path) -> list[tuple[float, int]]:
    """wrk against every URL at once for SECONDS; (requests/s, non-2xx answers) for each."""
    each = max(1, CONNECTIONS // len(urls))
    runs = [
        subprocess.Popen(  # noqa: S603 - wrk, with arguments made here
            [
                WRK,
                "-t1",
                f"-c{each}",
                f"-d{SECONDS}s",
                "-s",
                str(script),
                f"{url}/api/v1/exchanges",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    results = []
    for run in runs:
        out, _ = run.communicate()
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        results.append((rate, int(bad.group(1)) if bad else 0))
    return results


def measure(env: dict[str, str], processes: int, script: Path) -> tuple[float, list[float]]:
    """Creates per second with ``processes`` gateways, and the CPU ms per create of each."""
    with ExitStack() as stack:
        running = [stack.enter_context(gateway_process(env, free_port())) for _ in range(processes)]
        before = [cpu_seconds(pid) for _, pid in running]
        results = load([url for url, _ in running], script)
        after = [cpu_seconds(pid) for _, pid in running]
    if any(bad for _, bad in results):
        raise RuntimeError(f"answers other than 201: {results}")
    per_create = [
        (a - b) * 1000 / max(1.0, rate * SECONDS)
        for a, b, (rate, _) in zip(after, before, results, strict=True)
    ]
    return sum(rate for rate, _ in results), per_create


def main() -> int:
    if not Path(WRK).exists():
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if not os.environ.get("GATEWAY_TEST_POSTGRES_URL"):
        print("GATEWAY_TEST_POSTGRES_URL is needed: scripts/postgres prints one", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory() as tmp,
        migrated_database("postgresql", Path(tmp)) as url,
    ):
        return run(url, Path(tmp))


def run(database: str, directory: Path) -> int:
    engine = make_engine(database)
    public_url = "http://127.0.0.1:8000"  # the tokens' audience; every gateway here shares it
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database,
        "GATEWAY_DATA_DIR": str(directory / "var"),
        "GATEWAY_PUBLIC_URL": public_url,
        "GATEWAY_RATE_LIMIT": "1000000/second",
        "GATEWAY_MAINTENANCE_INTERVAL": "0",
        "GATEWAY_OUTBOX_INTERVAL": "0",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with make_sessionmaker(engine)() as session:
        school, key = register(session, OrganisationRole.SCHOOL, "99ZZ")
        leerplicht, _ = register(session, OrganisationRole.LEERPLICHT, "GM9999")
    engine.dispose()
    with gateway_process(env, free_port()) as (url, _):  # makes the dev keys; gives the token
        form = staff_token_request_form(key, school, f"{public_url}/oauth/token", BENCH_STAFF)
        token = httpx.post(f"{url}/oauth/token", data=form).json()
    body = json.dumps(
        {
            "purpose": "verzuimmelding",
            "direction": "offer",
            "counterparty_id": leerplicht,
            "child": {"bsn": "111222333", "birth_date": "2015-05-01"},
            "requested_fields": ["absence_period", "signal_type"],
        }
    )
    script = directory / "create.lua"
    script.write_text(LUA.format(body=body, token=token["access_token"]))
    one, one_cpu = measure(env, 1, script)
    two, two_cpu = measure(env, 2, script)
    ratio = two / one
    print(f"one gateway process:  {one:7.1f} creates/s, CPU per create {one_cpu[0]:.2f} ms")
    cpu = ", ".join(f"{c:.2f}" for c in two_cpu)
    print(f"two gateway processes: {two:7.1f} creates/s, CPU per create {cpu} ms")
    print(f"ratio two/one: {ratio:.2f} (target >= {TARGET}; {os.cpu_count()} cores here)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
