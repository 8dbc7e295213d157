"""Access tokens verified once are remembered, never past their expiry."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import ECKey

from gateway.auth.access_tokens import LEEWAY_SECONDS, AccessTokens
from gateway.auth.scopes import Scope
from gateway.errors import AuthenticationError
from gateway.organisations.identifiers import OrganisationRole
from gateway.settings import Settings


def test_a_remembered_token_is_refused_once_it_has_expired(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = AccessTokens(settings, ECKey.generate_key("P-256", private=True, auto_kid=True))
    issued = tokens.issue("org-1", OrganisationRole.SCHOOL, frozenset({Scope.EXCHANGE}))
    token = issued["access_token"]
    first = tokens.verify(token)
    assert tokens.verify(token) == first  # the second use is answered from memory
    assert first.organisation_id == "org-1"

    later = time.time() + issued["expires_in"] + LEEWAY_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AuthenticationError, match="not valid"):
        tokens.verify(token)


def test_a_token_that_fails_is_not_remembered_as_good(settings: Settings) -> None:
    tokens = AccessTokens(settings, ECKey.generate_key("P-256", private=True, auto_kid=True))
    token = tokens.issue("org-1", OrganisationRole.SCHOOL, frozenset())["access_token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            tokens.verify(tampered)
    assert tokens.verify(token).organisation_id == "org-1"
