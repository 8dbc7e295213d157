"""The policy bundle on disk: Rego modules, their data, and a version that names them.

The layout is an OPA bundle, so an OPA server can load the same directory: ``*.rego`` modules,
and ``data.json`` files whose directory is their place in ``data`` (``purposes/data.json`` is
``data.purposes``). Files ending in ``_test.rego`` are Rego unit tests; they are loaded for the
test runner but are not part of the decision bundle or its version.

The version is a SHA-256 over every decision file's path and bytes, in path order, computed in
Python because the in-process engine has no ``crypto.*`` built-ins.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEST_SUFFIX = "_test.rego"


@dataclass(frozen=True)
class PolicyBundle:
    root: Path
    modules: dict[str, str]  # relative path -> Rego source (decision modules only)
    tests: dict[str, str]  # relative path -> Rego source of *_test.rego
    data: dict[str, Any]
    version: str

    @classmethod
    def load(cls, root: Path) -> PolicyBundle:
        root = root.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"policy directory {root} does not exist")
        modules: dict[str, str] = {}
        tests: dict[str, str] = {}
        data: dict[str, Any] = {}
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.name.endswith(TEST_SUFFIX):
                tests[relative] = path.read_text(encoding="utf-8")
                continue
            if path.suffix == ".rego":
                modules[relative] = path.read_text(encoding="utf-8")
            elif path.name == "data.json":
                _place(data, path.parent.relative_to(root).parts, json.loads(path.read_bytes()))
            else:
                continue
            raw = path.read_bytes()
            # Length-prefixed framing: no two different bundles hash the same byte stream.
            digest.update(f"{relative}\0{len(raw)}\0".encode())
            digest.update(raw)
        if not modules:
            raise FileNotFoundError(f"no Rego modules under {root}")
        return cls(root, modules, tests, data, "sha256:" + digest.hexdigest())

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
