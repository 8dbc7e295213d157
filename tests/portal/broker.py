"""panva's oidc-provider, an OpenID Certified provider from npm, as the portal's identity broker in
tests: started as its own node process on a loopback port (tests/portal/oidc_provider), with
the portal registered as its client, and driven through its login form like a person would.

It releases claims the way a DigiD or eHerkenning broker may: the BSN under a scope and a claim
name of its own, and, as OpenID Connect Core §5.4 says for the code flow, only at the userinfo
endpoint, not in the ID token.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey, RSAKey

from gateway.portal import assurance
from gateway.settings import Settings
from tests.portal.live import LiveGateway, free_port, live_settings, running

SERVER = Path(__file__).parent / "oidc_provider" / "server.mjs"
CLIENT_ID = "kindkoppeling-portal"
CLIENT_SECRET = secrets.token_urlsafe(32)
SCOPES = "openid profile digid eherkenning"
BSN_CLAIM = "urn:nl-eid-gdi:1.0:id:BSN"
ROLES_CLAIM = "kk_roles"
ORGANISATION_CLAIM = "kk_organisation"
CLAIMS = {
    "openid": ["sub"],
    "profile": ["name"],
    "digid": [BSN_CLAIM],
    "eherkenning": [ROLES_CLAIM, ORGANISATION_CLAIM],
}


def provider_entry() -> str:
    entry = os.environ.get("GATEWAY_TEST_OIDC_PROVIDER")
    if not entry:
        raise RuntimeError(
            "GATEWAY_TEST_OIDC_PROVIDER is not set: run scripts/test, which installs panva's "
            "oidc-provider (scripts/oidc-provider prints the value)"
        )
    return entry


def signing_keys() -> dict[str, Any]:
    """A fresh RSA and EC key: the provider signs ID tokens with RS256 or ES256 as the client
    asks. New keys mean new key ids, which is what a rotation looks like to the portal."""
    keys = [RSAKey.generate_key(2048, private=True), ECKey.generate_key("P-256", private=True)]
    for key in keys:
        key.ensure_kid()
    return {"keys": [key.as_dict(private=True) for key in keys]}


@dataclass
class Broker:
    url: str
    port: int
    portal_url: str
    alg: str
    rp_initiated_logout: bool = True
    jwks: dict[str, Any] = field(default_factory=signing_keys)
    process: subprocess.Popen[str] | None = None

    def config(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "issuer": self.url,
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{self.portal_url}/portaal/callback"],
                "post_logout_redirect_uris": [f"{self.portal_url}/portaal/uitgelogd"],
                "id_token_signed_response_alg": self.alg,
            },
            "jwks": self.jwks,
            "claims": CLAIMS,
            "list_claims": [ROLES_CLAIM],
            "acr_values": list(assurance.NAMES),
            "cookie_key": secrets.token_urlsafe(32),
            "rp_initiated_logout": self.rp_initiated_logout,
        }

    def start(self) -> None:
        env = {
            **os.environ,
            "KK_OIDC_CONFIG": json.dumps(self.config()),
            "KK_OIDC_PROVIDER_ENTRY": provider_entry(),
        }
        self.process = subprocess.Popen(
            ["node", str(SERVER)], env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "listening", or nothing when it died
        if line.strip() != "listening":
            self.stop()
            raise RuntimeError(f"the OpenID provider did not start: {line!r}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def rotate_keys(self) -> None:
        """Restart with new signing keys (and, being in memory, no sessions)."""
        self.stop()
        self.jwks = signing_keys()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except RuntimeError:  # the port may take a moment to be free again
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


@contextmanager
def running_broker(
    port: int, portal_url: str, alg: str, rp_initiated_logout: bool = True
) -> Iterator[Broker]:
    broker = Broker(f"http://127.0.0.1:{port}", port, portal_url, alg, rp_initiated_logout)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def portal_settings(broker: Broker, database_url: str, data_dir: Path, port: int) -> Settings:
    """A dev gateway whose portal logs in at ``broker``, configured as for a real broker."""
    return live_settings(
        database_url,
        data_dir,
        port,
        oidc_issuer=broker.url,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_scopes=SCOPES,
        oidc_bsn_claim=BSN_CLAIM,
        oidc_roles_claim=ROLES_CLAIM,
        oidc_organisation_claim=ORGANISATION_CLAIM,
    )


@contextmanager
def portal_at_broker(
    database_url: str, data_dir: Path, alg: str, rp_initiated_logout: bool = True
) -> Iterator[tuple[Broker, LiveGateway]]:
    """The broker, and a live gateway whose portal logs in there."""
    portal_port, broker_port = free_port(), free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    with running_broker(broker_port, portal_url, alg, rp_initiated_logout) as broker:
        settings = portal_settings(broker, database_url, data_dir, portal_port)
        with running(settings, portal_port) as live:
            yield broker, live


def broker_form(page: httpx.Response) -> str:
    """The action of the broker's login form on ``page``."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, f"not the broker's login form: {page.url}"
    return str(page.url.join(action.group(1)))


def fill_in(client: httpx.Client, page: httpx.Response, **claims: str) -> httpx.Response:
    """Log in on the broker's form as someone with ``claims`` (sub, acr and the claims)."""
    return client.post(broker_form(page), data=claims)


def citizen(sub: str, bsn: str, acr: str = assurance.DIGID_SUBSTANTIEEL) -> dict[str, str]:
    return {"sub": sub, "name": f"Persoon {sub}", "acr": acr, BSN_CLAIM: bsn}


def officer(sub: str, organisation: str, acr: str = assurance.EH3) -> dict[str, str]:
    return {
        "sub": sub,
        "name": f"FG {sub}",
        "acr": acr,
        ROLES_CLAIM: "privacy_officer",
        ORGANISATION_CLAIM: organisation,
    }
