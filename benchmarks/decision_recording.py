"""What keeping a decision (its input, its answer, the hashes in the audit entry) adds to a
create.

Subject and floor are the same request on the same server in the same run: ``POST
/api/v1/exchanges`` (a verzuimmelding, decided in full and allowed, as in ``exchange_api.py``),
once as the gateway runs it and once with :func:`gateway.decisions.recording.record_decision`
switched off for the measurement (replaced by a plain append of the entry: no hashes, no
record). The two alternate in short batches, and the figure is the median over the
pairs of adjacent batches of their ratio, so the slow swings of a noisy machine hit both sides of
a pair alike. Prints the extra time per create; exits non-zero above TARGET.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.exchange_api import creating_client
from gateway.auditing.service import record
from gateway.decisions import recording
from gateway.logs import configure_logging

TARGET = 0.10  # at most 10% more time per create
ROUNDS = 300  # pairs of batches
BATCH = 4  # creates per batch


def batch_seconds(create: Callable[[], None]) -> float:
    started = time.perf_counter()
    for _ in range(BATCH):
        create()
    return (time.perf_counter() - started) / BATCH


def main() -> int:
    configure_logging("WARNING")
    keeping = recording.record_decision

    def append_only(session: Any, bundle: Any, entry: Any, ruling: Any, **_: Any) -> Any:
        return record(session, entry)

    def without_recording() -> None:
        recording.record_decision = append_only

    def with_recording() -> None:
        recording.record_decision = keeping

    with creating_client() as (create, _, _):
        times: dict[str, list[float]] = {"with": [], "without": []}
        batch_seconds(create)  # warm up (and store the bundle once)
        for _ in range(ROUNDS):
            with_recording()
            times["with"].append(batch_seconds(create))
            without_recording()
            times["without"].append(batch_seconds(create))
        with_recording()
    extra = statistics.median(a / b for a, b in zip(times["with"], times["without"], strict=True))
    extra -= 1
    print(f"create, decision kept:     {statistics.median(times['with']) * 1e3:6.2f} ms (median)")
    print(f"create, decision not kept: {statistics.median(times['without']) * 1e3:6.2f} ms")
    print(f"keeping the decision adds {extra:.1%} per create (target <= {TARGET:.0%})")
    return 0 if extra <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
