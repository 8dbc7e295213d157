"""The export format an auditor verifies offline: plain files, no database.

A directory with ``entries.jsonl`` (one ``{"index": n, "leaf": base64, "leaf_hash": base64}``
per line, in order; the leaf hash is the one recorded when the entry was appended, so an edited
leaf is named by its index),
``checkpoints.txt`` (every signed checkpoint note, separated by a line ``---``) and
``verifier-key.txt`` (the note verifier keys, one per line: the current one first, then any
retired ones whose checkpoints are in the export).

A *partial* export (one organisation's entries) has gaps, so it cannot be checked by rebuilding
the tree: each line of ``entries.jsonl`` also carries ``"proof"``, the inclusion proof (base64
hashes) of that entry in the one checkpoint of ``checkpoints.txt``, which may carry witness
cosignatures; ``witness-keys.txt`` then lists the witnesses' verifier keys. Such an export
proves its entries are in the log the checkpoint commits to, not that it holds every entry.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.note import Verifier

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.txt"
VERIFIER_KEY = "verifier-key.txt"
WITNESS_KEYS = "witness-keys.txt"
SEPARATOR = "---\n"


def write_export(
    directory: Path,
    leaves: Iterable[tuple[int, bytes, bytes]],
    notes: Iterable[str],
    verifiers: Sequence[Verifier],
) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (directory / ENTRIES).open("w", encoding="utf-8") as out:
        for index, leaf, recorded_hash in leaves:
            out.write(entry_line(index, leaf, recorded_hash))
            count += 1
    (directory / CHECKPOINTS).write_text(SEPARATOR.join(notes), encoding="utf-8")
    (directory / VERIFIER_KEY).write_text(verifier_key_lines(verifiers), encoding="utf-8")
    return count


def entry_line(
    index: int, leaf: bytes, recorded_hash: bytes, proof: Sequence[bytes] | None = None
) -> str:
    """One line of ``entries.jsonl``, newline included; with ``proof`` in a partial export."""
    record: dict[str, object] = {
        "index": index,
        "leaf": base64.b64encode(leaf).decode(),
        "leaf_hash": base64.b64encode(recorded_hash).decode(),
    }
    if proof is not None:
        record["proof"] = [base64.b64encode(h).decode() for h in proof]
    return json.dumps(record) + "\n"


@dataclass(frozen=True)
class ProvedEntry:
    index: int
    leaf: bytes
    leaf_hash: bytes | None
    proof: list[bytes]


def is_partial(directory: Path) -> bool:
    """Does the export carry inclusion proofs (one organisation's entries) rather than the
    whole log? Judged by its first entry."""
    with (directory / ENTRIES).open(encoding="utf-8") as lines:
        first = lines.readline()
    return bool(first.strip()) and "proof" in json.loads(first)


def read_proved_entries(directory: Path) -> Iterator[ProvedEntry]:
    with (directory / ENTRIES).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            recorded = record.get("leaf_hash")
            yield ProvedEntry(
                int(record["index"]),
                base64.b64decode(record["leaf"], validate=True),
                None if recorded is None else base64.b64decode(recorded, validate=True),
                [base64.b64decode(h, validate=True) for h in record.get("proof", [])],
            )


def read_witness_keys(directory: Path) -> list[str]:
    """The witnesses' verifier keys the export names (none when it has no such file)."""
    path = directory / WITNESS_KEYS
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line]


def read_leaves(directory: Path) -> Iterator[tuple[int, bytes, bytes | None]]:
    with (directory / ENTRIES).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            recorded = record.get("leaf_hash")
            yield (
                int(record["index"]),
                base64.b64decode(record["leaf"], validate=True),
                None if recorded is None else base64.b64decode(recorded, validate=True),
            )


def read_checkpoints(directory: Path) -> list[str]:
    text = (directory / CHECKPOINTS).read_text(encoding="utf-8")
    return [note for note in text.split(SEPARATOR) if note.strip()]


def verifier_key_lines(verifiers: Sequence[Verifier]) -> str:
    """The verifier keys, encoded, one per line (the order given: current first)."""
    return "".join(f"{verifier.encode()}\n" for verifier in verifiers)


def read_verifier_keys(directory: Path) -> list[str]:
    text = (directory / VERIFIER_KEY).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]
