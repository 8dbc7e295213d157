"""A C2SP tlog-witness (https://c2sp.org/tlog-witness): ``python -m audit witness serve``.

A witness keeps, per log (an origin and the keys that sign it), the latest checkpoint it
cosigned, and cosigns a new one only when a consistency proof shows it extends that one. Two
gateways that sign different histories under one key, or a gateway restored from an older
backup, cannot both get its cosignature: a reader who asks for a quorum of witnesses sees one
history or none.

``POST /add-checkpoint`` takes ``old <size>``, the consistency proof lines, a blank line and the
signed checkpoint, and answers:

- 200 with the cosignature line (C2SP tlog-cosignature v1, Ed25519, timestamped);
- 400 for a malformed body or an old size above the checkpoint's;
- 403 when no signature on the checkpoint is by a key the witness trusts for its origin;
- 404 for an origin the witness does not witness;
- 409 (``text/x.tlog.size``: the size it knows) when the old size is not the one it last
  cosigned, or the same size comes with another root;
- 422 when the consistency proof does not verify.

The state lives in SQLite (stdlib ``sqlite3``): the check against the stored checkpoint and
the write of the new one happen in one ``BEGIN IMMEDIATE`` transaction, so two submissions
cannot roll the witness back, and a restart keeps what it cosigned. Served by the standard
library's threading HTTP server: a witness answers a handful of logs a few times a minute, and
the package stays free of web frameworks.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Lock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.cosignature import Cosigner
from audit.note import NoteError, Verifier, open_note, split_note, strict_b64decode

MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"


class RefusedError(Exception):
    """The witness does not cosign; ``status`` and ``detail`` are its answer."""

    def __init__(self, status: HTTPStatus, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.size = size


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: list[bytes]
    note: str


def request_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The ``add-checkpoint`` body a log sends."""
    lines = [f"old {old_size}\n", *(f"{base64.b64encode(h).decode()}\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode()


def parse_request(body: bytes) -> Submission:
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise RefusedError(HTTPStatus.BAD_REQUEST, "the body is not UTF-8") from exc
    header, separator, note = text.partition("\n\n")
    if not separator:
        raise RefusedError(HTTPStatus.BAD_REQUEST, "no blank line before the checkpoint")
    lines = header.split("\n")
    old = lines[0].removeprefix("old ")
    if old == lines[0] or not old.isdigit() or (old != "0" and old.startswith("0")):
        raise RefusedError(HTTPStatus.BAD_REQUEST, "the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise RefusedError(HTTPStatus.BAD_REQUEST, f"more than {MAX_PROOF_LINES} proof lines")
    try:
        proof = [strict_b64decode(line) for line in lines[1:]]
    except binascii.Error as exc:
        raise RefusedError(HTTPStatus.BAD_REQUEST, "a proof line is not base64") from exc
    return Submission(int(old), proof, note)


class WitnessState:
    """The latest cosigned checkpoint of each log, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = Lock()  # one connection, used by one request thread at a time
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cosigned ("
            " origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL,"
            " note TEXT NOT NULL, cosigned_at INTEGER NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT tree_size, root_hash FROM cosigned WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def advance(
        self, checkpoint: Checkpoint, submission: Submission, sign: Callable[[], str]
    ) -> str:
        """Check ``submission`` against the stored checkpoint and, if it extends it, store the
        new one and return ``sign()``: all in one write transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                line = self._advance(checkpoint, submission, sign)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return line

    def _advance(
        self, checkpoint: Checkpoint, submission: Submission, sign: Callable[[], str]
    ) -> str:
        row = self._db.execute(
            "SELECT tree_size, root_hash FROM cosigned WHERE origin = ?", (checkpoint.origin,)
        ).fetchone()
        known_size, known_root = (0, merkle.EMPTY_ROOT) if row is None else (row[0], row[1])
        if submission.old_size != known_size:
            raise RefusedError(
                HTTPStatus.CONFLICT,
                f"the latest checkpoint cosigned for this log has size {known_size}",
                known_size,
            )
        if submission.old_size == checkpoint.tree_size:
            if submission.proof or (row is not None and known_root != checkpoint.root_hash):
                raise RefusedError(
                    HTTPStatus.CONFLICT,
                    f"a checkpoint of size {known_size} with another root hash was cosigned",
                    known_size,
                )
        elif submission.old_size == 0:
            if submission.proof:
                raise RefusedError(HTTPStatus.BAD_REQUEST, "the proof from size 0 is empty")
        elif not merkle.verify_consistency(
            known_size, checkpoint.tree_size, submission.proof, known_root, checkpoint.root_hash
        ):
            raise RefusedError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"the checkpoint of size {checkpoint.tree_size} is not consistent with the one "
                f"of size {known_size} cosigned before",
            )
        line = sign()
        self._db.execute(
            "INSERT INTO cosigned (origin, tree_size, root_hash, note, cosigned_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET"
            " tree_size = excluded.tree_size, root_hash = excluded.root_hash,"
            " note = excluded.note, cosigned_at = excluded.cosigned_at",
            (
                checkpoint.origin,
                checkpoint.tree_size,
                checkpoint.root_hash,
                submission.note,
                int(time.time()),
            ),
        )
        return line


class TlogWitness:
    """The witness's rules, apart from HTTP: which logs it trusts and what it cosigns."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Sequence[Verifier],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cosigner = cosigner
        self.state = state
        self.clock = clock
        self.logs: dict[str, list[Verifier]] = {}
        for key in logs:
            self.logs.setdefault(key.name, []).append(key)

    def add_checkpoint(self, body: bytes) -> str:
        submission = parse_request(body)
        try:
            text, _ = split_note(submission.note)
            checkpoint = Checkpoint.parse_body(text)
        except NoteError as exc:
            raise RefusedError(HTTPStatus.BAD_REQUEST, f"not a signed checkpoint: {exc}") from exc
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise RefusedError(
                HTTPStatus.NOT_FOUND, f"this witness does not witness {checkpoint.origin}"
            )
        try:
            open_note(submission.note, keys)
        except NoteError as exc:
            raise RefusedError(HTTPStatus.FORBIDDEN, f"no trusted signature: {exc}") from exc
        if submission.old_size > checkpoint.tree_size:
            raise RefusedError(HTTPStatus.BAD_REQUEST, "the old size is above the checkpoint's")
        return self.state.advance(
            checkpoint,
            submission,
            lambda: self.cosigner.cosign(checkpoint.body(), int(self.clock())),
        )


def handler_for(witness: TlogWitness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/add-checkpoint":
                self._answer(HTTPStatus.NOT_FOUND, "no such endpoint\n")
                return
            length = self.headers.get("Content-Length", "")
            if not length.isdigit() or int(length) > MAX_BODY:
                self._answer(HTTPStatus.BAD_REQUEST, "a Content-Length up to 64 KiB is needed\n")
                return
            try:
                line = witness.add_checkpoint(self.rfile.read(int(length)))
            except RefusedError as refused:
                if refused.size is not None:
                    self._answer(refused.status, f"{refused.size}\n", SIZE_MEDIA_TYPE)
                else:
                    self._answer(refused.status, f"{refused.detail}\n")
                return
            self._answer(HTTPStatus.OK, line)

        def _answer(
            self, status: HTTPStatus, text: str, media_type: str = "text/plain; charset=utf-8"
        ) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request on stderr is noise for a service under a supervisor

    return Handler


def make_server(witness: TlogWitness, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), handler_for(witness))
    server.daemon_threads = True
    return server


def keygen(name: str, keyfile: Path) -> Cosigner:
    """A new witness key, written to ``keyfile`` readable by its owner only."""
    cosigner = Cosigner(name, Ed25519PrivateKey.generate())
    keyfile.touch(mode=0o600, exist_ok=False)
    keyfile.chmod(0o600)
    keyfile.write_text(cosigner.encode() + "\n", encoding="utf-8")
    return cosigner
