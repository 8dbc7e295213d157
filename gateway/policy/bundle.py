"""The policy bundle on disk: Rego modules, their data, and a version that names them.

The layout is an OPA bundle, so an OPA server can load the same directory: ``*.rego`` modules,
and ``data.json`` files whose directory is their place in ``data`` (``purposes/data.json`` is
``data.purposes``). Files ending in ``_test.rego`` are Rego unit tests; they are loaded for the
test runner but are not part of the decision bundle or its version.

The version is a SHA-256 over every decision file's path and bytes, in path order, computed in
Python because the in-process engine has no ``crypto.*`` built-ins. ``files`` keeps those
files' text, so the gateway can store the bundle under its version and rebuild it later
(:func:`PolicyBundle.from_files` recomputes the version, so a stored copy proves itself).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

TEST_SUFFIX = "_test.rego"


@dataclass(frozen=True)
class PolicyBundle:
    root: Path | None  # None for a bundle read back from the database
    modules: dict[str, str]  # relative path -> Rego source (decision modules only)
    tests: dict[str, str]  # relative path -> Rego source of *_test.rego
    data: dict[str, Any]
    version: str
    files: dict[str, str]  # every decision file (modules and data.json) -> its text

    @classmethod
    def load(cls, root: Path) -> PolicyBundle:
        root = root.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"policy directory {root} does not exist")
        files: dict[str, str] = {}
        tests: dict[str, str] = {}
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.name.endswith(TEST_SUFFIX):
                tests[relative] = path.read_text(encoding="utf-8")
            elif path.suffix == ".rego" or path.name == "data.json":
                files[relative] = path.read_bytes().decode("utf-8")
        return cls.from_files(files, root=root, tests=tests)

    @classmethod
    def from_files(
        cls, files: dict[str, str], *, root: Path | None = None, tests: dict[str, str] | None = None
    ) -> PolicyBundle:
        """The bundle made of these decision files; its version is computed, never taken."""
        modules: dict[str, str] = {}
        data: dict[str, Any] = {}
        digest = hashlib.sha256()
        for relative in sorted(files):
            text = files[relative]
            if relative.endswith(".rego"):
                modules[relative] = text
            else:
                parts = PurePosixPath(relative).parent.parts
                _place(data, parts, json.loads(text))
            raw = text.encode("utf-8")
            # Length-prefixed framing: no two different bundles hash the same byte stream.
            digest.update(f"{relative}\0{len(raw)}\0".encode())
            digest.update(raw)
        if not modules:
            raise FileNotFoundError(f"no Rego modules under {root or 'the stored bundle'}")
        version = "sha256:" + digest.hexdigest()
        return cls(root, modules, tests or {}, data, version, dict(files))

    def purpose(self, purpose_id: str) -> dict[str, Any] | None:
        """The register entry of a purpose, or None for a purpose the register does not know."""
        spec: dict[str, Any] | None = self.data.get("purposes", {}).get(purpose_id)
        return spec


def _place(data: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    if parts:
        target[parts[-1]] = value
    elif isinstance(value, dict):
        data.update(value)


def default_policy_dir() -> Path:
    """``policies/`` beside the ``gateway`` package (a source checkout or editable install)."""
    return Path(__file__).resolve().parents[2] / "policies"
