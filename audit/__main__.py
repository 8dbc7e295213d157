"""``python -m audit verify DIR``: check an exported audit log offline, with no database.

Exit status 0 when every entry, signature and checkpoint holds; 1 with the faults (and the
first bad index) otherwise; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from audit.export import read_checkpoints, read_leaves, read_verifier_keys
from audit.note import NoteError, Verifier
from audit.verify import verify_log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify an exported log directory")
    verify.add_argument("directory", type=Path)
    verify.add_argument(
        "--verifier-key",
        action="append",
        help="a note verifier key to trust; repeat for the keys of earlier rotations (default: "
        "the ones in the export; pass the published keys to be sure the export was not "
        "re-signed)",
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        type=Path,
        default=[],
        help="a signed checkpoint published earlier (a file) that the log must still contain; "
        "repeat for more",
    )
    args = parser.parse_args(argv)

    try:
        keys = [
            Verifier.decode(text)
            for text in args.verifier_key or read_verifier_keys(args.directory)
        ]
        held = [path.read_text(encoding="utf-8") for path in args.checkpoint]
        notes = [*read_checkpoints(args.directory), *held]
        report = verify_log(read_leaves(args.directory), notes, keys)
    except (OSError, NoteError, ValueError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1
    root = base64.b64encode(report.root_hash).decode()
    print(f"{report.entries} entries, {report.checkpoints} checkpoints, root {root}")
    if report.ok:
        print("OK: every entry, signature and checkpoint verifies")
        return 0
    for fault in report.faults:
        print(f"FAULT: {fault}", file=sys.stderr)
    if report.first_bad_index is not None:
        print(f"first bad index: {report.first_bad_index}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
