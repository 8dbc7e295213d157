"""Verifying and proving the audit log at 1,000,000 entries (``--entries``).

Measured in one run on a SQLite file:
- load: ``store.append_batch`` in batches of 10,000 (one sequencer step each);
- verification: ``verify_log`` over every leaf (recompute each leaf hash, compare it with the
  stored one, check the index each leaf names, rebuild the tree, check the signed
  checkpoints). Floor: hashlib alone over the same leaves (2n - 1 SHA-256 calls). Both get the
  same leaves, held in memory. Target: at most 1.5x the floor;
- online verification end to end, leaves streamed from the database as ``gateway audit
  verify`` does. Floor: streaming the same rows and doing nothing with them, plus the hashlib
  floor. Target: at most 1.5x;
- proofs: p50 and p99 of inclusion and consistency proofs from stored subtree hashes.
  Target: p99 under 1 ms;
- offline: ``python -m audit verify`` on an export of the whole log.

Each timing is the best of ``ROUNDS`` (the machines are noisy; the best is the least disturbed).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from audit import store
from audit.entry import Actor, Entry
from audit.export import write_export
from audit.note import Signer
from audit.verify import Report, verify_log
from gateway import migrations
from gateway.db import make_engine

BATCH = 10_000
PROOFS = 2_000
ROUNDS = 3
VERIFY_TARGET = 1.5
PROOF_P99_TARGET = 0.001


def hashlib_floor(leaves: list[bytes]) -> float:
    """SHA-256 of every leaf (0x00 prefix) and of every inner node: the work itself."""
    started = time.perf_counter()
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return time.perf_counter() - started


def best(run: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def in_memory(
    session: Session, notes: list[str], signer: Signer, count: int
) -> tuple[float, float]:
    """Verification and its floor over the same leaves in memory (freed on return)."""
    rows = list(store.iter_leaves(session))
    leaves = [leaf for _, leaf, _ in rows]
    floor = best(lambda: hashlib_floor(leaves))
    work = best(lambda: check(verify_log(rows, notes, signer.verifier), count))
    return work, floor


def check(report: Report, count: int) -> None:
    assert report.ok and report.entries == count, report.faults


def drain(rows: Iterable[object]) -> None:
    for _ in rows:
        pass


def report_ratio(name: str, subject: float, floor: float, floor_parts: str = "") -> bool:
    ratio = subject / floor
    print(
        f"{name}: {subject:.2f} s; floor {floor_parts}{floor:.2f} s; "
        f"ratio {ratio:.2f} (target <= {VERIFY_TARGET})"
    )
    return ratio <= VERIFY_TARGET


def percentile(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    count = parser.parse_args().entries
    signer = Signer("bench.example/audit", Ed25519PrivateKey.generate())
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'audit.db'}")
        migrations.upgrade(engine)
        actor = Actor("organisation", "9c1f6a9e-0000-4000-8000-000000000000", "school")
        with Session(engine) as session:
            started = time.perf_counter()
            for start in range(0, count, BATCH):
                batch = [
                    Entry(
                        action="decision",
                        actor=actor,
                        outcome="allowed",
                        purpose="warme-overdracht",
                        fields=("development_summary",),
                        level="summary",
                        extra={"n": str(n)},
                    )
                    for n in range(start, min(count, start + BATCH))
                ]
                store.append_batch(session, batch)
                session.commit()
            load = time.perf_counter() - started
            store.publish_checkpoint(session, signer, signer.name)
            session.commit()
            print(f"load: {count} entries in {load:.1f} s ({count / load:,.0f} entries/s)")

            notes = store.all_checkpoints(session)
            work, floor = in_memory(session, notes, signer, count)
            ok &= report_ratio("verification", work, floor)

            reading = best(lambda: drain(store.iter_leaves(session)))
            online = best(
                lambda: check(verify_log(store.iter_leaves(session), notes, signer.verifier), count)
            )
            parts = f"reading {reading:.2f} s + hashing {floor:.2f} s = "
            ok &= report_ratio("online verification", online, reading + floor, parts)

            rng = random.Random(6962)  # noqa: S311 - sampling, not security
            inclusion, consistency = [], []
            for _ in range(PROOFS):
                index = rng.randrange(count)
                started = time.perf_counter()
                store.inclusion_proof(session, index, count)
                inclusion.append(time.perf_counter() - started)
                first = rng.randrange(1, count + 1)
                started = time.perf_counter()
                store.consistency_proof(session, first, count)
                consistency.append(time.perf_counter() - started)
            for name, times in (("inclusion", inclusion), ("consistency", consistency)):
                p99 = percentile(times, 0.99)
                ok &= p99 < PROOF_P99_TARGET
                print(
                    f"{name} proof: p50 {percentile(times, 0.5) * 1e3:.3f} ms, "
                    f"p99 {p99 * 1e3:.3f} ms (target p99 < 1 ms)"
                )

            out = Path(tmp) / "export"
            write_export(
                out,
                store.iter_leaves(session),
                store.all_checkpoints(session),
                signer.verifiers,
            )
        engine.dispose()
        started = time.perf_counter()
        offline = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "audit", "verify", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            f"offline verify of the export: exit {offline.returncode} in "
            f"{time.perf_counter() - started:.1f} s: {offline.stdout.strip().splitlines()[-1]}"
        )
        ok &= offline.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
