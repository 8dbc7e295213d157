"""The JSON Schemas (2020-12) a delivered payload must satisfy, one per purpose in ``schemas/``.

Validation uses ``jsonschema``'s Draft 2020-12 validator with format checking, and reports every
offending field as an RFC 6901 pointer so a school's developer can fix all of them at once. The
error details name the rule that failed, never the value that failed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from gateway.errors import ValidationFailedError

SUFFIX = ".schema.json"


def default_schema_dir() -> Path:
    """``schemas/`` beside the ``gateway`` package (a source checkout or editable install)."""
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class PayloadSchemas:
    validators: dict[str, Draft202012Validator]

    @classmethod
    def load(cls, directory: Path) -> PayloadSchemas:
        validators = {}
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            schema = json.loads(path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
            validators[path.name.removesuffix(SUFFIX)] = Draft202012Validator(
                schema, format_checker=FormatChecker()
            )
        return cls(validators)

    def properties(self, purpose: str) -> set[str]:
        schema = self.validators[purpose].schema
        return set(schema.get("properties", {})) if isinstance(schema, dict) else set()

    def validate(self, purpose: str, payload: Any) -> None:
        """Raise a 422 naming every field of ``payload`` that the purpose's schema refuses."""
        validator = self.validators.get(purpose)
        if validator is None:
            raise LookupError(f"no payload schema for purpose {purpose}")
        errors = []
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path)):
            if error.validator == "additionalProperties" and isinstance(payload, dict):
                allowed = self.properties(purpose)
                errors += [
                    {"pointer": _pointer([name]), "detail": "not a field of this purpose"}
                    for name in sorted(payload)
                    if name not in allowed
                ]
                continue
            errors.append(
                {"pointer": _pointer(list(error.absolute_path)), "detail": _detail(error)}
            )
        if errors:
            raise ValidationFailedError(
                f"The payload does not match the schema of '{purpose}'.", errors=errors
            )


def _detail(error: ValidationError) -> str:
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        return "a required field is missing: " + str(error.message).split("'")[1]
    if rule in {"type", "format", "enum", "const", "pattern"}:
        return f"must match {rule} {json.dumps(expected, ensure_ascii=False)}"
    return f"violates {rule} {json.dumps(expected, ensure_ascii=False)}"


def _pointer(path: list[Any]) -> str:
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
