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
