"""HEAD is answered wherever GET is (RFC 9110, 9.3.2), by a real uvicorn server: the GET's
headers, no body, and the keep-alive connection stays usable afterwards."""

from __future__ import annotations

import httpx

from tests.exchanges.world import World
from tests.portal.conftest import live, world
from tests.portal.live import LiveGateway

__all__ = ["live", "world"]


def test_head_answers_like_get_without_a_body(live: LiveGateway, world: World) -> None:
    with httpx.Client(base_url=live.url) as client:  # one keep-alive connection throughout
        for path, headers in (
            ("/health/live", {}),
            ("/api/v1/organisations/me", world.school.headers),
            ("/docs", {}),
        ):
            got = client.get(path, headers=headers)
            head = client.head(path, headers=headers)

            assert got.status_code == head.status_code == 200, path
            assert head.content == b"" and got.content != b""
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.headers["content-length"] == str(len(got.content))
        assert client.head("/api/v1/organisations/me").status_code == 401  # still authenticated
        assert client.head("/oauth/token").status_code == 405  # POST only
        assert client.get("/health/live").json()  # the connection was framed right
