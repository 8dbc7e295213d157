"""The witness (C2SP tlog-witness) over real HTTP: what it cosigns, what it refuses and with
which status, that it never goes back across a restart, and that its cosignatures verify by
the spec alone."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.cosignature import Cosigner, Witness, cosigned_by
from audit.note import Signer
from audit.witness import SIZE_MEDIA_TYPE, request_body
from tests.audit.witnesses import RunningWitness, new_cosigner, witness_server
from tests.portal.live import free_port

ORIGIN = "gateway.test/audit"


class Log:
    """A log in memory: leaves, roots, proofs, signed checkpoints."""

    def __init__(self, signer: Signer, tag: str = "a") -> None:
        self.signer = signer
        self.tag = tag
        self.hashes: list[bytes] = []

    def grow(self, count: int) -> None:
        for _ in range(count):
            self.hashes.append(merkle.leaf_hash(f"{self.tag}{len(self.hashes)}".encode()))

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.hashes) if size is None else size
        return Checkpoint(ORIGIN, size, merkle.root(self.hashes[:size])).sign(self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        if old == 0 or old >= new:
            return []
        return merkle.consistency_proof(old, new, merkle.subtree_from_list(self.hashes[:new]))

    def submission(self, old: int, new: int | None = None) -> bytes:
        new = len(self.hashes) if new is None else new
        return request_body(old, self.proof(old, new), self.checkpoint(new))


@pytest.fixture
def log_signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def witness(log_signer: Signer, tmp_path: Path) -> Iterator[RunningWitness]:
    cosigner = new_cosigner("witness.test/w1")
    with witness_server(cosigner, [log_signer.verifier], tmp_path / "w1.db") as running:
        yield running


def post(witness: RunningWitness, body: bytes) -> httpx.Response:
    return httpx.post(f"{witness.url}/add-checkpoint", content=body, timeout=10)


def test_a_cosignature_verifies_by_the_spec_alone(
    witness: RunningWitness, log_signer: Signer
) -> None:
    log = Log(log_signer)
    log.grow(5)
    before = int(time.time())

    answer = post(witness, log.submission(0))

    assert answer.status_code == 200
    name, blob_b64 = answer.text.removeprefix("\u2014 ").rstrip("\n").split(" ")
    blob = base64.b64decode(blob_b64)
    public = witness.cosigner.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert name == "witness.test/w1"
    assert blob[:4] == hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    (timestamp,) = struct.unpack(">Q", blob[4:12])
    assert before <= timestamp <= time.time() + 1
    body = log.checkpoint().split("\n\n")[0] + "\n"
    message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
    Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)  # raises if not
    # the verifier key is a C2SP vkey of type 0x04
    vkey_name, key_id, key = witness.vkey.split("+", 2)
    assert (vkey_name, key_id) == (name, blob[:4].hex())
    assert base64.b64decode(key) == b"\x04" + public
    # and our own reader agrees, on the note with the line appended
    assert cosigned_by(log.checkpoint() + answer.text, [witness.cosigner.witness])


def test_the_witness_follows_a_growing_log_and_refuses_to_go_back(
    witness: RunningWitness, log_signer: Signer
) -> None:
    log = Log(log_signer)
    log.grow(5)
    assert post(witness, log.submission(0)).status_code == 200
    log.grow(6)

    stale = post(witness, log.submission(0))
    grown = post(witness, log.submission(5))
    smaller = post(witness, log.submission(11, 5))
    again = post(witness, log.submission(11))

    assert stale.status_code == 409
    assert stale.headers["content-type"] == SIZE_MEDIA_TYPE
    assert stale.text == "5\n"
    assert grown.status_code == 200
    assert smaller.status_code == 400  # old size above the checkpoint's
    assert again.status_code == 200  # the same tree again: cosigned again


def test_a_forked_log_is_refused_by_a_witness_that_saw_the_other_branch(
    witness: RunningWitness, log_signer: Signer
) -> None:
    honest, fork = Log(log_signer, "a"), Log(log_signer, "b")  # one key, two histories
    honest.grow(5)
    fork.grow(7)
    assert post(witness, honest.submission(0)).status_code == 200

    refused = post(witness, fork.submission(5))
    same_size = post(witness, fork.submission(5, 5))

    assert refused.status_code == 422
    assert "not consistent" in refused.text
    assert same_size.status_code == 409  # size 5 with another root
    assert post(witness, honest.submission(5, 5)).status_code == 200  # the witness holds on


def test_a_bad_proof_an_unknown_log_and_a_foreign_key_are_refused(
    witness: RunningWitness, log_signer: Signer
) -> None:
    log = Log(log_signer)
    log.grow(4)
    assert post(witness, log.submission(0)).status_code == 200
    log.grow(3)
    good = log.submission(4)
    head, _, rest = good.partition(b"\n")
    first_hash, _, tail = rest.partition(b"\n")
    flipped = base64.b64encode(bytes(32)).decode().encode()

    bad_proof = post(witness, head + b"\n" + flipped + b"\n" + tail)
    stranger = Log(Signer("elsewhere.test/log", Ed25519PrivateKey.generate()))
    stranger.grow(2)
    unknown = post(
        witness,
        request_body(0, [], Checkpoint("elsewhere.test/log", 2, bytes(32)).sign(stranger.signer)),
    )
    impostor = Log(Signer(ORIGIN, Ed25519PrivateKey.generate()))
    impostor.grow(9)
    foreign = post(witness, impostor.submission(4))
    garbage = post(witness, b"hello")

    assert first_hash  # there was a proof to spoil
    assert bad_proof.status_code == 422
    assert unknown.status_code == 404
    assert foreign.status_code == 403
    assert garbage.status_code == 400
    assert post(witness, log.submission(4)).status_code == 200


def test_the_witness_cli_keeps_its_state_across_restarts(tmp_path: Path) -> None:
    log = Log(Signer(ORIGIN, Ed25519PrivateKey.generate()))
    log.grow(8)
    keyfile = tmp_path / "witness.key"
    made = subprocess.run(
        [sys.executable, "-m", "audit", "witness", "keygen", "witness.test/cli", str(keyfile)],
        capture_output=True,
        text=True,
        check=True,
    )
    vkey = made.stdout
    assert vkey.count("\n") == 1
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert Witness.decode(vkey) == Cosigner.decode(keyfile.read_text()).witness
    port = free_port()
    serve = [
        sys.executable, "-m", "audit", "witness", "serve",
        "--log-vkey", log.signer.verifier.encode(),
        "--state", str(tmp_path / "state.db"),
        "--key", str(keyfile),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/add-checkpoint"

    def submit(body: bytes) -> httpx.Response:
        with served(serve):
            return httpx.post(url, content=body, timeout=10)

    first = submit(log.submission(0))
    after_restart = submit(request_body(0, [], log.checkpoint(3)))

    assert first.status_code == 200
    assert cosigned_by(log.checkpoint() + first.text, [Witness.decode(vkey)])
    assert after_restart.status_code == 409
    assert after_restart.text == "8\n"


class served:  # noqa: N801 (a context manager read as a phrase)
    def __init__(self, command: list[str]) -> None:
        self.command = command

    def __enter__(self) -> subprocess.Popen[str]:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, text=True, env={**os.environ}
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "witness … listening on …" once it is up
        assert "listening" in line
        return self.process

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
