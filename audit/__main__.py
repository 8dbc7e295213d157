"""``python -m audit verify DIR``: check an exported audit log offline, with no database.
``python -m audit check-inclusion``: check that one entry (a delivery's or fetch's receipt) is
in the log a signed checkpoint commits to, with the inclusion proof the gateway served.
``python -m audit mirror URL DIR``: keep a verified copy of a log's hash tiles, checking every
new checkpoint against it (``--follow`` to keep polling).
``python -m audit witness keygen|serve``: run a witness that cosigns a log's checkpoints.

``verify``, ``check-inclusion`` and ``mirror`` exit 0 when everything holds; 1 with the faults
(and the first bad index) otherwise; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from pathlib import Path

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.cosignature import Cosigner, Witness
from audit.export import (
    is_partial,
    read_checkpoints,
    read_leaves,
    read_proved_entries,
    read_verifier_keys,
)
from audit.mirror import LogFaultError, Mirror, UnreachableError, http_fetch, inclusion_from_tiles
from audit.note import NoteError, Verifier, split_note
from audit.progress import Progress, counted
from audit.verify import Report, quorum_fault, verify_entries, verify_log, verify_receipt
from audit.witness import TlogWitness, WitnessState, keygen, make_server


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
    receipt = commands.add_parser(
        "check-inclusion",
        help="check an entry's inclusion proof (the JSON of /audit/proofs/inclusion) against "
        "a signed checkpoint",
    )
    receipt.add_argument(
        "proof",
        type=Path,
        help="the inclusion proof, as the API served it; with --tiles, a receipt's proof or an "
        "export directory (every entry in it is checked)",
    )
    receipt.add_argument(
        "checkpoint",
        type=Path,
        nargs="?",
        help="the signed checkpoint, as served (not with --tiles: the mirror's is used)",
    )
    receipt.add_argument(
        "--tiles",
        type=Path,
        help="a mirror directory (python -m audit mirror): compute the proofs from its tiles "
        "against its verified checkpoint, asking the log nothing",
    )
    receipt.add_argument(
        "--verifier-key",
        action="append",
        required=True,
        help="a note verifier key of the log (/audit/verifier-keys); repeat for earlier ones",
    )
    receipt.add_argument(
        "--leaf-hash",
        help="the leaf hash (base64) your receipt names; the proof must be about that entry",
    )
    witness = commands.add_parser(
        "witness", help="run a C2SP tlog-witness that cosigns logs' checkpoints"
    )
    witness_commands = witness.add_subparsers(dest="witness_command", required=True)
    keygen = witness_commands.add_parser(
        "keygen", help="write a new witness key to KEYFILE (mode 0600); print its verifier key"
    )
    keygen.add_argument("name", help="the witness's name, e.g. witness.example.org/w1")
    keygen.add_argument("keyfile", type=Path)
    serve = witness_commands.add_parser(
        "serve", help="answer POST /add-checkpoint (C2SP tlog-witness) until interrupted"
    )
    serve.add_argument(
        "--log-vkey",
        action="append",
        required=True,
        help="the note verifier key of a log to witness (its name is the log's origin); "
        "repeat for more logs or keys",
    )
    serve.add_argument(
        "--state", type=Path, required=True, help="SQLite file of the cosigned checkpoints"
    )
    serve.add_argument("--key", type=Path, required=True, help="the KEYFILE keygen wrote")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7380)
    verify.add_argument(
        "--witness",
        action="append",
        help="a witness verifier key (C2SP vkey, type 0x04) whose cosignature counts; repeat "
        "for each witness you trust",
    )
    verify.add_argument(
        "--quorum",
        type=int,
        help="how many of the --witness keys must have cosigned (default: all of them)",
    )
    mirror = commands.add_parser(
        "mirror",
        help="fetch a log's checkpoint and the hash tiles DIR lacks, and keep them only when "
        "the checkpoint is signed (and cosigned) and the new tree contains the one verified "
        "before",
    )
    mirror.add_argument("url", help="the log's prefix: <public URL>/api/v1/audit")
    mirror.add_argument("directory", type=Path, help="where the mirror keeps its copy")
    mirror.add_argument(
        "--verifier-key",
        action="append",
        required=True,
        help="a note verifier key of the log to trust; repeat for keys of earlier rotations",
    )
    mirror.add_argument(
        "--witness", action="append", help="a witness verifier key whose cosignature counts"
    )
    mirror.add_argument(
        "--quorum", type=int, help="how many --witness keys must cosign (default: all)"
    )
    mirror.add_argument(
        "--follow", action="store_true", help="keep polling until interrupted or a fault"
    )
    mirror.add_argument(
        "--interval", type=float, default=60.0, help="seconds between rounds with --follow"
    )
    mirror.add_argument(
        "--rounds", type=int, help="with --follow, stop after this many rounds (for tests)"
    )
    args = parser.parse_args(argv)
    if args.command == "mirror":
        return _mirror(args)
    if args.command == "witness":
        return _witness(args)
    if args.command == "check-inclusion":
        return _check_inclusion(args)
    return _verify(args)


def _check_inclusion(args: argparse.Namespace) -> int:
    if args.tiles is not None:
        return _check_inclusion_from_tiles(args)
    if args.checkpoint is None:
        print(
            "cannot verify: name the signed checkpoint, or a mirror with --tiles", file=sys.stderr
        )
        return 2
    try:
        keys = [Verifier.decode(text) for text in args.verifier_key]
        proof = json.loads(args.proof.read_text(encoding="utf-8"))
        index, leaf_hash = int(proof["index"]), base64.b64decode(proof["leaf_hash"], validate=True)
        hashes = [base64.b64decode(h, validate=True) for h in proof["hashes"]]
        report = verify_receipt(
            index, leaf_hash, hashes, args.checkpoint.read_text(encoding="utf-8"), keys
        )
    except (OSError, NoteError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1
    if args.leaf_hash is not None and args.leaf_hash != proof["leaf_hash"]:
        report.fault(f"the proof is about leaf {proof['leaf_hash']}, not {args.leaf_hash}")
    if report.ok:
        root = base64.b64encode(report.root_hash).decode()
        print(f"OK: entry {index} is in the signed log of root {root}")
        return 0
    for fault in report.faults:
        print(f"FAULT: {fault}", file=sys.stderr)
    return 1


def _check_inclusion_from_tiles(args: argparse.Namespace) -> int:
    try:
        keys = [Verifier.decode(text) for text in args.verifier_key]
        if args.proof.is_dir():
            entries = [
                (e.index, merkle.leaf_hash(e.leaf), e.leaf_hash)
                for e in read_proved_entries(args.proof)
            ]
        else:
            proof = json.loads(args.proof.read_text(encoding="utf-8"))
            hashed = base64.b64decode(proof["leaf_hash"], validate=True)
            entries = [(int(proof["index"]), hashed, hashed)]
        faults = [
            f"entry {index}: its leaf does not hash to the leaf hash recorded for it"
            for index, hashed, recorded in entries
            if recorded is not None and hashed != recorded
        ]
        checkpoint, unproved = inclusion_from_tiles(
            args.tiles, keys, [(index, hashed) for index, hashed, _ in entries]
        )
    except (OSError, NoteError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1
    faults += unproved
    if args.leaf_hash is not None and all(
        base64.b64encode(hashed).decode() != args.leaf_hash for _, hashed, _ in entries
    ):
        faults.append(f"no entry here has leaf hash {args.leaf_hash}")
    if faults:
        for fault in faults:
            print(f"FAULT: {fault}", file=sys.stderr)
        return 1
    root = base64.b64encode(checkpoint.root_hash).decode()
    print(
        f"OK: {len(entries)} entries are in the signed log of {checkpoint.tree_size} entries, "
        f"root {root}, proved from the mirror's own tiles"
    )
    return 0


def _mirror(args: argparse.Namespace) -> int:
    try:
        keys = [Verifier.decode(text) for text in args.verifier_key]
        witnesses = [Witness.decode(text) for text in args.witness or ()]
        fetch = http_fetch(args.url)
    except (NoteError, ValueError) as exc:
        print(f"mirror: {exc}", file=sys.stderr)
        return 2
    quorum = args.quorum or len(witnesses)
    if witnesses and not 1 <= quorum <= len(witnesses):
        print(
            f"mirror: a quorum of {quorum} of {len(witnesses)} witnesses is impossible",
            file=sys.stderr,
        )
        return 2
    rounds = 0
    while True:
        with Progress("tiles") as progress:
            mirror = Mirror(args.directory, keys, fetch, witnesses, quorum, progress.update)
            try:
                done = mirror.update()
            except LogFaultError as exc:
                print(f"FAULT: {exc}", file=sys.stderr)
                return 1
            except (UnreachableError, NoteError) as exc:
                print(f"mirror: {exc}", file=sys.stderr)
                if not args.follow:
                    return 1
                done = None
        if done is not None:
            root = base64.b64encode(done.root_hash).decode()
            since = "" if done.before is None else f", consistent with the {done.before} before"
            print(
                f"OK: {done.size} entries, root {root}; {done.fetched} tiles fetched{since}",
                flush=True,
            )
        rounds += 1
        if not args.follow or (args.rounds is not None and rounds >= args.rounds):
            return 0
        time.sleep(args.interval)


def _witness(args: argparse.Namespace) -> int:
    try:
        if args.witness_command == "keygen":
            print(keygen(args.name, args.keyfile).witness.encode())
            return 0
        cosigner = Cosigner.decode(args.key.read_text(encoding="utf-8"))
        logs = [Verifier.decode(text) for text in args.log_vkey]
        state = WitnessState(args.state)
    except (OSError, NoteError) as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return 1
    server = make_server(TlogWitness(cosigner, logs, state), args.host, args.port)
    host, port = server.server_address[:2]
    print(f"witness {cosigner.name} listening on http://{host!s}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.close()
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        keys = [
            Verifier.decode(text)
            for text in args.verifier_key or read_verifier_keys(args.directory)
        ]
        witnesses = [Witness.decode(text) for text in args.witness or ()]
        held = [path.read_text(encoding="utf-8") for path in args.checkpoint]
        notes = [*read_checkpoints(args.directory), *held]
        partial = is_partial(args.directory)
        if partial:
            if len(notes) != 1:
                raise ValueError("a partial export holds exactly one checkpoint")
            proved = read_proved_entries(args.directory)
            entries = ((e.index, e.leaf, e.leaf_hash, e.proof) for e in proved)
            report = verify_entries(entries, notes[0], keys)
        else:
            with Progress("entries") as progress:
                leaves = counted(read_leaves(args.directory), progress, _largest_size(notes))
                report = verify_log(leaves, notes, keys)
    except (OSError, NoteError, ValueError, KeyError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 1
    if witnesses:
        _check_quorum(report, notes, keys, witnesses, args.quorum or len(witnesses))
    root = base64.b64encode(report.root_hash).decode()
    if partial:
        print(
            f"partial export: {report.entries} entries with inclusion proofs in the checkpoint "
            f"with root {root}"
        )
    else:
        print(f"{report.entries} entries, {report.checkpoints} checkpoints, root {root}")
    if report.ok:
        if partial:
            print(
                "OK: each of these entries is in the signed log; this export covers these "
                "entries only, not the whole log, so it cannot show that none are missing"
            )
        else:
            print("OK: every entry, signature and checkpoint verifies")
        return 0
    for fault in report.faults:
        print(f"FAULT: {fault}", file=sys.stderr)
    if report.first_bad_index is not None:
        print(f"first bad index: {report.first_bad_index}", file=sys.stderr)
    return 1


def _largest_size(notes: list[str]) -> int:
    """The size of the largest checkpoint, read without checking it (for progress only)."""
    sizes = [0]
    for note in notes:
        try:
            sizes.append(Checkpoint.parse_body(split_note(note)[0]).tree_size)
        except NoteError:
            continue
    return max(sizes)


def _check_quorum(
    report: Report,
    notes: list[str],
    keys: list[Verifier],
    witnesses: list[Witness],
    quorum: int,
) -> None:
    """The largest checkpoint with ``quorum`` valid cosignatures, or a fault when none has."""
    if not 1 <= quorum <= len(witnesses):
        report.fault(f"a quorum of {quorum} out of {len(witnesses)} witnesses is impossible")
        return
    sizes = []
    problems = []
    for note in notes:
        try:
            size = Checkpoint.verify(note, keys).tree_size
        except NoteError:
            continue  # the signature fault is reported by the verification itself
        problem = quorum_fault(note, witnesses, quorum)
        if problem is None:
            sizes.append(size)
        else:
            problems.append(f"size {size}: {problem}")
    if sizes:
        print(f"cosigned by at least {quorum} witnesses up to size {max(sizes)}")
    else:
        report.fault("no checkpoint has the witness quorum (" + "; ".join(problems) + ")")


if __name__ == "__main__":
    sys.exit(main())
