"""Both sides keep the record: a delivery's and a fetch's answer name their audit entry, and the
organisation proves with the offline verifier that the gateway's log holds it (issue 25)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle, store
from audit.note import Signer
from tests.exchanges.test_api import SIGNAL, SIGNAL_FIELDS
from tests.exchanges.world import World


def check_inclusion(tmp_path: Path, proof: dict[str, object], checkpoint: str, *args: str) -> str:
    """``python -m audit check-inclusion``'s verdict: OK, FAULT, or what it could not read."""
    files = (tmp_path / "proof.json", tmp_path / "checkpoint")
    files[0].write_text(json.dumps(proof))
    files[1].write_text(checkpoint)
    done = subprocess.run(
        [sys.executable, "-m", "audit", "check-inclusion", *args, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    verdict = "OK" if done.returncode == 0 else done.stderr.split(":")[0]
    assert verdict in {"OK", "FAULT"}, done.stderr
    return verdict


def test_delivery_and_fetch_answers_carry_a_receipt_the_offline_verifier_accepts(
    world: World, tmp_path: Path
) -> None:
    signal = world.create(world.school, world.leerplicht, "verzuimmelding", SIGNAL_FIELDS)
    delivered = world.deliver(world.school, signal["id"], SIGNAL)
    fetched = world.fetch(world.leerplicht, signal["id"])
    assert delivered.status_code == 200 and fetched.status_code == 200, fetched.text

    entries = world.audit_entries()
    vkey = world.client.get("/api/v1/audit/verifier-key").text.strip()
    for answer, action in ((delivered.json(), "delivery"), (fetched.json(), "fetch")):
        receipt = answer["audit"]
        index = receipt["index"]
        assert entries[index]["action"] == action
        assert entries[index]["exchange_id"] == signal["id"]
        assert base64.b64decode(receipt["leaf_hash"]) == store.leaf_hash(world.session, index)

        # The then-current checkpoint, and the proof the receipt links to, against it.
        checkpoint = world.client.get(receipt["checkpoint"]).text
        size = int(checkpoint.splitlines()[1])
        proof = world.client.get(
            f"{receipt['inclusion_proof']}&treeSize={size}", headers=world.leerplicht.headers
        )
        assert proof.status_code == 200, proof.text
        assert proof.json()["leaf_hash"] == receipt["leaf_hash"]
        assert (
            check_inclusion(
                tmp_path,
                proof.json(),
                checkpoint,
                "--verifier-key",
                vkey,
                "--leaf-hash",
                receipt["leaf_hash"],
            )
            == "OK"
        )

        # Followed as given, the link proves against the checkpoint served now.
        latest = world.client.get(receipt["inclusion_proof"]).json()
        assert latest["index"] == index and latest["tree_size"] >= index + 1

    # Evidence that does not hold is refused: another leaf, a changed proof, another key.
    proof = world.client.get(f"{receipt['inclusion_proof']}&treeSize={size}").json()
    other_leaf = base64.b64encode(merkle.leaf_hash(b"not this entry")).decode()
    assert (
        check_inclusion(
            tmp_path, proof, checkpoint, "--verifier-key", vkey, "--leaf-hash", other_leaf
        )
        == "FAULT"
    )
    assert (
        check_inclusion(
            tmp_path, {**proof, "leaf_hash": other_leaf}, checkpoint, "--verifier-key", vkey
        )
        == "FAULT"
    )
    if proof["hashes"]:
        bent = {**proof, "hashes": [other_leaf, *proof["hashes"][1:]]}
        assert check_inclusion(tmp_path, bent, checkpoint, "--verifier-key", vkey) == "FAULT"
    # The same log name under a key that never signed it (a forger's).
    foreign = Signer(vkey.split("+")[0], Ed25519PrivateKey.generate()).verifier.encode()
    assert check_inclusion(tmp_path, proof, checkpoint, "--verifier-key", foreign) == "FAULT"
