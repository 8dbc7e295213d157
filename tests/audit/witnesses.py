"""Witnesses as real HTTP servers on loopback ports, for the tests of the protocol and of the
gateway that collects their cosignatures."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.cosignature import Cosigner
from audit.note import Verifier
from audit.witness import TlogWitness, WitnessState, make_server


@dataclass
class RunningWitness:
    cosigner: Cosigner
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def vkey(self) -> str:
        return self.cosigner.witness.encode()

    @property
    def setting(self) -> str:
        """This witness as GATEWAY_AUDIT_WITNESSES writes it."""
        return f"{self.vkey}={self.url}"


def new_cosigner(name: str) -> Cosigner:
    return Cosigner(name, Ed25519PrivateKey.generate())


@contextmanager
def witness_server(
    cosigner: Cosigner, logs: Sequence[Verifier], state: Path, port: int = 0
) -> Iterator[RunningWitness]:
    kept = WitnessState(state)
    server = make_server(TlogWitness(cosigner, logs, kept), "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningWitness(cosigner, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        kept.close()
