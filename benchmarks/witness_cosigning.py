"""Witnesses cost a request nothing, and cosign well within one maintenance interval.

1. Off the request path. The gateway of ``exchange_api.py`` with two witnesses on loopback that
   each take WITNESS_DELAY seconds to answer (a witness across the country, or a busy one). In
   alternating short batches of ``POST /api/v1/exchanges``, a thread beside the server either
   runs maintenance with cosigning over and over (new entries keep arriving, so each run sends
   a new checkpoint to both witnesses) or stays idle. The figure is the median, over adjacent
   pairs of batches, of the create time with cosigning under way over the time without; if a
   request waited for a witness, a create would take at least WITNESS_DELAY and the ratio would
   be in the tens. Target: at most 1.25 (the thread's own CPU on a two-core machine is the rest).
2. Within one interval. Rounds of maintenance against two prompt witnesses on loopback: the
   seconds from the start of a run to a checkpoint cosigned by both, against the default
   maintenance interval (GATEWAY_MAINTENANCE_INTERVAL, 300 s). Target: under one interval.

Prints both figures; exits non-zero when either misses its target.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from audit.cosignature import Cosigner
from audit.note import Signer
from audit.witness import TlogWitness, WitnessState, make_server
from benchmarks.exchange_api import creating_client, free_port
from gateway.auditing.witnessing import standing
from gateway.exchanges.maintenance import run_once
from gateway.logs import configure_logging
from gateway.settings import Settings

TARGET_RATIO = 1.25
WITNESS_DELAY = 0.25  # seconds each slow witness takes per answer
ROUNDS = 60  # pairs of batches
BATCH = 8  # creates per batch
INTERVAL = Settings.model_fields["maintenance_interval"].default


class SlowWitness(TlogWitness):
    """A witness that takes ``delay`` seconds to answer, on a port of its own."""

    delay = 0.0
    port = 0

    def add_checkpoint(self, body: bytes) -> str:
        time.sleep(self.delay)
        return super().add_checkpoint(body)


def witnesses(stack: ExitStack, directory: Path, delay: float) -> list[SlowWitness]:
    """Two witnesses served in threads, trusting no log yet (``trust`` adds the gateway's)."""
    made = []
    for n in range(2):
        witness = SlowWitness(
            Cosigner(f"bench.test/w{n}", Ed25519PrivateKey.generate()),
            [],
            WitnessState(directory / f"w{n}-{delay}.db"),
        )
        witness.delay = delay
        witness.port = free_port()
        server = make_server(witness, "127.0.0.1", witness.port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stack.callback(witness.state.close)
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        made.append(witness)
    return made


def setting(made: list[SlowWitness]) -> str:
    """GATEWAY_AUDIT_WITNESSES for them."""
    return " ".join(f"{w.cosigner.witness.encode()}=http://127.0.0.1:{w.port}" for w in made)


def trust(made: list[SlowWitness], log: Signer) -> None:
    for witness in made:
        witness.logs.setdefault(log.name, []).append(log.verifier)


def batch_seconds(create: Callable[[], None]) -> float:
    started = time.perf_counter()
    for _ in range(BATCH):
        create()
    return (time.perf_counter() - started) / BATCH


def maintain(app: FastAPI) -> None:
    state = app.state
    run_once(state.sessions, state.signals, state.audit_signer, state.audit_witnesses)


def request_path(directory: Path) -> tuple[float, dict[str, float], int]:
    """Paired batches of creates, with maintenance and cosigning running beside them or not."""
    with ExitStack() as stack:
        made = witnesses(stack, directory, WITNESS_DELAY)
        create, _, app = stack.enter_context(creating_client(audit_witnesses=setting(made)))
        trust(made, app.state.audit_signer)
        busy, stop, runs = threading.Event(), threading.Event(), [0]

        def beside() -> None:
            while not stop.is_set():
                if busy.wait(timeout=0.05):
                    maintain(app)
                    runs[0] += 1

        thread = threading.Thread(target=beside, daemon=True)
        thread.start()
        times: dict[str, list[float]] = {"with": [], "without": []}
        batch_seconds(create)  # warm up
        for _ in range(ROUNDS):
            busy.set()
            times["with"].append(batch_seconds(create))
            busy.clear()
            time.sleep(2 * WITNESS_DELAY + 0.05)  # let a run under way finish
            times["without"].append(batch_seconds(create))
        stop.set()
        thread.join()
        with app.state.sessions() as session:
            found = standing(session, app.state.audit_witnesses)
        assert not found.alarms and found.cosigned_size, found
    ratio = statistics.median(a / b for a, b in zip(times["with"], times["without"], strict=True))
    medians = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    return ratio, medians, runs[0]


def quorum_seconds(directory: Path) -> float:
    """Seconds per maintenance run, entries appended before each, until both witnesses have
    cosigned its checkpoint."""
    with ExitStack() as stack:
        made = witnesses(stack, directory, 0.0)
        create, _, app = stack.enter_context(creating_client(audit_witnesses=setting(made)))
        trust(made, app.state.audit_signer)
        rounds = []
        for _ in range(20):
            for _ in range(10):
                create()
            started = time.perf_counter()
            maintain(app)
            with app.state.sessions() as session:
                found = standing(session, app.state.audit_witnesses)
            assert found.cosigned_size == found.signed_size, found
            rounds.append(time.perf_counter() - started)
    return statistics.median(rounds)


def main() -> int:
    configure_logging("WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        ratio, create_ms, runs = request_path(directory)
        to_quorum = quorum_seconds(directory)
    print(f"create, cosigning under way:    {create_ms['with']:6.2f} ms (median batch)")
    print(f"create, no cosigning under way: {create_ms['without']:6.2f} ms")
    print(f"maintenance runs meanwhile, witnesses answering in {WITNESS_DELAY} s: {runs}")
    print(f"cosigning under way / idle: {ratio:.2f} per create (target <= {TARGET_RATIO})")
    print(
        f"checkpoint cosigned by 2 witnesses in {to_quorum:.3f} s (median run); maintenance "
        f"interval {INTERVAL} s: {to_quorum / INTERVAL:.5f} of an interval (target < 1)"
    )
    return 0 if ratio <= TARGET_RATIO and to_quorum < INTERVAL else 1


if __name__ == "__main__":
    sys.exit(main())
