"""Settings refuse, at start, values that would only fail later, request by request."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings


@pytest.mark.parametrize(
    "url",
    [
        "https://kindkoppeling.example.nl",
        "https://gateway.internal:8443/",
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_public_url_over_https_or_on_loopback_is_accepted(tmp_path: Path, url: str) -> None:
    assert Settings(data_dir=tmp_path, public_url=url).public_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://gateway:8000", "http://192.168.1.20", "ftp://gateway", "gateway:8000"]
)
def test_public_url_over_plain_http_elsewhere_stops_the_start(tmp_path: Path, url: str) -> None:
    # Authlib refuses every token request whose URL is plain http on a non-loopback host; the
    # gateway passes its own URL, so such a setting used to turn each /oauth/token into a 500.
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, public_url=url)

    error = refused.value.errors()[0]
    assert error["loc"] == ("public_url",)
    assert "https://" in error["msg"]
    assert "loopback" in error["msg"]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("oidc_scopes", "profile bsn"),
        ("oidc_scopes", "openidx profile"),
        ("oidc_parent_acr_values", " "),
        ("oidc_officer_acr_values", ""),
        ("oidc_bsn_claim", ""),
    ],
)
def test_a_login_setting_that_would_refuse_or_admit_everyone_stops_the_start(
    tmp_path: Path, setting: str, value: str
) -> None:
    # No openid scope: no ID token, so nobody logs in. No accepted level: nobody logs in either,
    # and "any level" is not a choice the portal offers.
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, **{setting: value})

    assert refused.value.errors()[0]["loc"] == (setting,)


def test_the_login_levels_are_lists_and_demand_substantieel_and_eh3_by_default(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, oidc_officer_acr_values="  urn:a   urn:b ")

    assert settings.parent_acr_values == (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
    )
    assert settings.officer_acr_values == ("urn:a", "urn:b")
    assert Settings(data_dir=tmp_path).officer_acr_values == (
        "urn:etoegang:core:assurance-class:loa3",
        "urn:etoegang:core:assurance-class:loa4",
    )
