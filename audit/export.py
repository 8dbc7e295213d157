"""The export format an auditor verifies offline: plain files, no database.

A directory with ``entries.jsonl`` (one ``{"index": n, "leaf": base64, "leaf_hash": base64}``
per line, in order; the leaf hash is the one recorded when the entry was appended, so an edited
leaf is named by its index),
``checkpoints.txt`` (every signed checkpoint note, separated by a line ``---``) and
``verifier-key.txt`` (the note verifier keys, one per line: the current one first, then any
retired ones whose checkpoints are in the export).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from audit.note import Verifier

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.txt"
VERIFIER_KEY = "verifier-key.txt"
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


def entry_line(index: int, leaf: bytes, recorded_hash: bytes) -> str:
    """One line of ``entries.jsonl``, newline included."""
    record = {
        "index": index,
        "leaf": base64.b64encode(leaf).decode(),
        "leaf_hash": base64.b64encode(recorded_hash).decode(),
    }
    return json.dumps(record) + "\n"


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
