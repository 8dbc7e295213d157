"""Standard Webhooks signatures (https://www.standardwebhooks.com): secrets and the three
headers of every message.

``webhook-signature`` is ``v1,`` and base64(HMAC-SHA256(secret, "<id>.<timestamp>.<body>")),
where the secret is the bytes after ``whsec_`` in base64. Hand-written because it is four lines
of ``hmac``; the reference library (PyPI ``standardwebhooks``) is what receivers verify with,
and the tests verify every message with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    signature = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(signature).decode()}",
    }
