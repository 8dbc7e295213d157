"""The OpenAPI document as the NL API Design Rules want it. FastAPI builds it from the routes;
this completes it with what a route cannot say about itself:

- the server is the API's base URL with its major version, ``<public URL>/api/v1``
  (/core/uri-version), so the API's paths are written relative to it; the few paths outside the
  API (the token endpoint, health) carry a server of their own, the public URL;
- every response carries the ``API-Version`` header (/core/version-header), declared once and
  referenced from each response;
- the OAuth2 token URL is absolute, since the server is no longer the site's root.

With these, Logius's own Spectral ruleset finds no error or warning in the served document;
docs/adr/0011-the-api-document.md says what was decided and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

API_VERSION = "API-Version"


def completed(
    build: Callable[[], dict[str, Any]], *, public_url: str, prefix: str, version: str
) -> Callable[[], dict[str, Any]]:
    """``build`` (FastAPI's ``app.openapi``), its document completed once."""
    done: dict[str, Any] = {}

    def document() -> dict[str, Any]:
        if not done:
            done.update(complete(build(), public_url=public_url, prefix=prefix, version=version))
        return done

    return document


def complete(
    document: dict[str, Any], *, public_url: str, prefix: str, version: str
) -> dict[str, Any]:
    document["servers"] = [{"url": f"{public_url}{prefix}", "description": "this gateway's API"}]
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        if path.startswith(f"{prefix}/"):
            paths[path.removeprefix(prefix)] = item
        else:
            paths[path] = {"servers": [{"url": public_url}], **item}
    document["paths"] = paths
    components = document.setdefault("components", {})
    components.setdefault("headers", {})[API_VERSION] = {
        "description": "The version of this API that answered (semantic versioning).",
        "schema": {"type": "string", "example": version},
    }
    reference = {"$ref": f"#/components/headers/{API_VERSION}"}
    for item in paths.values():
        for method, operation in item.items():
            if method == "servers":
                continue
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[API_VERSION] = reference
    for scheme in components.get("securitySchemes", {}).values():
        for flow in scheme.get("flows", {}).values():
            if str(flow.get("tokenUrl", "")).startswith("/"):
                flow["tokenUrl"] = f"{public_url}{flow['tokenUrl']}"
    return document


def served_paths(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each path of a completed document as the site serves it (its server's path before it),
    with its operations: for clients and tests that walk the document."""
    base = urlsplit(document["servers"][0]["url"]).path
    found: dict[str, dict[str, Any]] = {}
    for path, item in document["paths"].items():
        own = item.get("servers")
        prefix = urlsplit(own[0]["url"]).path if own else base
        found[f"{prefix.rstrip('/')}{path}"] = {k: v for k, v in item.items() if k != "servers"}
    return found
