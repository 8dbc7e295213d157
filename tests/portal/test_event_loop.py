"""Portal handlers that read or write the database are plain functions, which FastAPI runs on
its thread pool: a coroutine handler would do that work on the event loop and stall every other
request meanwhile. Forms are read (and their CSRF token checked) by an async dependency."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from gateway.portal import consent_pages, family_pages, notice_pages, officer_pages


def test_every_portal_page_and_form_handler_runs_off_the_event_loop() -> None:
    routes = [
        route
        for module in (consent_pages, family_pages, notice_pages, officer_pages)
        for route in module.router.routes
        if isinstance(route, APIRoute)
    ]
    posts = [route for route in routes if "POST" in route.methods]

    assert len(posts) >= 8  # answer, revoke, react, ahead, e-mail, BSN search, review, replay
    for route in routes:
        assert not inspect.iscoroutinefunction(route.endpoint), route.path
