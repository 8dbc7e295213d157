"""Progress: a bar on a terminal, plain lines otherwise; long commands report it on stderr."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.__main__ import main
from audit.checkpoint import Checkpoint
from audit.export import write_export
from audit.note import Signer
from audit.progress import Progress, counted


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_progress_is_a_line_per_tenth() -> None:
    stream = io.StringIO()
    with Progress("entries", stream) as progress:
        assert list(counted(range(1000), progress, 1000, every=10)) == list(range(1000))

    lines = stream.getvalue().splitlines()
    # The first report (the total, early), then one a tenth.
    assert lines == ["entries: 10/1000", *(f"entries: {n}/1000" for n in range(100, 1001, 100))]


def test_on_a_terminal_progress_is_a_bar() -> None:
    stream = Terminal()
    with Progress("tiles", stream) as progress:
        progress.update(5, 10)
        progress.update(10, 10)

    drawn = stream.getvalue()
    assert "tiles" in drawn and "10/10" in drawn and "\x1b[" in drawn  # drawn with escapes
    assert "tiles: " not in drawn  # not the plain lines


def test_python_m_audit_verify_reports_progress_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaves = [b'{"index":%d,"n":0}' % n for n in range(50)]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    signer = Signer("test.example/audit", Ed25519PrivateKey.generate())
    note = Checkpoint("test.example/audit", 50, merkle.root(hashes)).sign(signer)
    directory = tmp_path / "export"
    write_export(directory, zip(range(50), leaves, hashes, strict=True), [note], [signer.verifier])

    assert main(["verify", str(directory)]) == 0
    captured = capsys.readouterr()
    assert "entries: 50/50" in captured.err
    assert "entries: " not in captured.out
