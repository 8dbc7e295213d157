"""Crash durability: a child process writes exchanges (each with its audit entries) through
the API and is killed with SIGKILL at random moments. After each crash, every acknowledged
exchange and state change is there, every exchange has its decision in the log and every
logged exchange exists (nothing half-written), the stored Merkle tree equals the one rebuilt
from the leaves, and the log still matches the checkpoint signed before the crash."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from audit import store
from audit.note import Signer
from audit.verify import verify_log
from gateway.exchanges.models import Exchange
from gateway.keys import load_keys
from gateway.settings import Settings
from tests.tally import TALLY

CRASHES = 4
REPO = Path(__file__).resolve().parents[2]


def run_until_killed(settings: Settings, seconds: float) -> list[str]:
    """Start the worker, let it write for ``seconds`` after it is ready, SIGKILL it; return
    the lines it had acknowledged."""
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.effective_database_url,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_PUBLIC_URL": settings.public_url,
        "GATEWAY_MAINTENANCE_INTERVAL": "0",
        "GATEWAY_RATE_LIMIT": "1000000/second",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert worker.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert worker.stdout is not None
        for line in worker.stdout:
            if not line.endswith("\n"):
                break  # cut off by the kill: not acknowledged
            if line == "ready\n":
                ready.set()
            else:
                lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "the worker did not start"
        time.sleep(seconds)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        reader.join(10)
        worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL
    errors = [line for line in lines if line.startswith("error")]
    assert not errors, errors
    return lines


def test_sigkill_loses_no_acknowledged_write_and_leaves_nothing_half_written(
    settings: Settings, engine: Engine, session: Session
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = load_keys(settings)
    signer = Signer(settings.checkpoint_origin, keys.checkpoint_signing_key)
    chance = random.Random()  # noqa: S311 - timing, not security
    acknowledged: dict[str, str] = {}

    for _ in range(CRASHES):
        for line in run_until_killed(settings, chance.uniform(0.3, 1.5)):
            event, exchange_id = line.split()
            acknowledged[exchange_id] = {"created": "created", "withdrawn": "withdrawn"}[event]
        TALLY["crashes_injected"] += 1

        session.expire_all()
        exchanges = {e.id: e for e in session.scalars(select(Exchange))}
        lost = [i for i in acknowledged if i not in exchanges]
        lost += [
            i
            for i, s in acknowledged.items()
            if s == "withdrawn" and exchanges[i].status != "withdrawn"
        ]
        TALLY["entries_lost"] += len(lost)
        assert not lost, f"acknowledged but gone after SIGKILL: {lost}"

        logged: dict[str, list[str]] = {}
        for _, leaf, _ in store.iter_leaves(session):
            entry = json.loads(leaf)
            if entry.get("exchange_id"):
                logged.setdefault(entry["exchange_id"], []).append(entry["action"])
        assert set(logged) <= set(exchanges), "the log names exchanges that do not exist"
        for exchange_id, exchange in exchanges.items():
            assert "decision" in logged.get(exchange_id, []), f"{exchange_id} has no decision"
            withdrawn_in_log = "exchange.withdraw" in logged[exchange_id]
            assert withdrawn_in_log == (exchange.status == "withdrawn"), exchange_id

        report = verify_log(
            store.iter_leaves(session), store.all_checkpoints(session), signer.verifier
        )
        assert report.ok, report.faults
        assert report.root_hash == store.root(session, report.entries)  # the stored tree agrees
        store.publish_checkpoint(session, signer, settings.checkpoint_origin)
        session.commit()

    TALLY["entries_acknowledged"] += len(acknowledged)
    assert len(acknowledged) >= CRASHES  # the worker did write between the crashes
