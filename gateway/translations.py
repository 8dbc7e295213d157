"""The languages of the parent portal and its e-mails: Dutch, the language the texts are
written in, and one gettext catalogue per other language under ``gateway/locales/``.

Texts are marked where they are written: ``_()`` translates now, ``N_()`` only marks a text
that is translated where it is shown, and templates use Jinja2's i18n extension. The purpose
register's titles, descriptions and field labels are texts too: :func:`extract_register`
lets Babel collect them. ``scripts/translations`` updates the catalogues from the code; a
catalogue is read as it is (no compiled ``.mo`` to keep in step), so adding a language is only
adding its ``messages.po``.

The language of a request is set once, by :class:`LanguageMiddleware`: the person's choice
kept in their session, else their browser's ``Accept-Language``, else Dutch. Officer pages stay
Dutch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.dutch_time import DUTCH_TIME

SOURCE = "nl"
LOCALES = Path(__file__).parent / "locales"
SESSION_KEY = "language"
DUTCH_ONLY = ("/portaal/fg",)  # officer pages may stay Dutch (issue 36)

_language: ContextVar[str] = ContextVar("language", default=SOURCE)


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@cache
def languages() -> tuple[str, ...]:
    """Dutch first, then every language with a catalogue."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE, *found)


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of a language, without its fuzzy entries; Dutch needs none."""
    if language == SOURCE or language not in languages():
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def current() -> str:
    """The language of the request being answered."""
    return _language.get()


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural in the current language, for ``n``."""
    return translations(current()).ngettext(singular, plural, n)


def _(message: str, **values: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` filled in from ``values``."""
    text = gettext(message)
    return text % values if values else text


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for it)
    """Marks a text for the catalogues without translating it (it is translated where shown)."""
    return message


def in_language(language: str, message: str) -> str:
    """``message`` in a given language, outside any request (e-mails)."""
    return translations(language).gettext(message)


@cache
def name_of(language: str) -> str:
    """The language's own name for itself: "Nederlands", "English"."""
    return str(Locale.parse(language).get_display_name(language)).capitalize()


def negotiate(accept_language: str) -> str:
    """The best of our languages for an ``Accept-Language`` header; Dutch when none fits."""
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    preferred = [tag for _q, _p, tag in sorted(ranked)]
    try:
        found = negotiate_locale(preferred, list(languages()), sep="-")
    except (UnknownLocaleError, ValueError):
        found = None
    return found or SOURCE


def chosen(language: object) -> str | None:
    """A language we have, from a form or a session; None otherwise."""
    return language if isinstance(language, str) and language in languages() else None


def local_date(value: date | datetime | str | None, language: str | None = None) -> str:
    """A date, or a moment in Dutch time, written as people of the language write it."""
    if not value:
        return ""
    language = language or current()
    if isinstance(value, str):  # an audit entry's ISO timestamp
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y, HH:mm", tzinfo=DUTCH_TIME, locale=language)
    return format_date(value, "d MMMM y", locale=language)


class LanguageMiddleware:
    """Sets the language of each request to the pages under ``prefixes`` (inside the session
    middleware, which it reads); the API and the officer pages keep Dutch's texts."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        language = SOURCE
        if not scope["path"].startswith(DUTCH_ONLY):
            session = scope.get("session") or {}
            headers = dict(scope["headers"])
            language = chosen(session.get(SESSION_KEY)) or negotiate(
                headers.get(b"accept-language", b"").decode("latin-1")
            )
        token = _language.set(language)
        try:
            await self.app(scope, receive, send)
        finally:
            _language.reset(token)


def extract_register(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extraction method for the purpose register (``policies/purposes/data.json``):
    each purpose's title and description and each field's label."""
    register = json.load(fileobj)
    for purpose, spec in register.items():
        for key in ("title", "description"):
            if spec.get(key):
                yield 0, "", spec[key], [f"purpose {purpose}: {key}"]
        for name, field in spec.get("fields", {}).items():
            if field.get("label"):
                yield 0, "", field["label"], [f"purpose {purpose}: field {name}"]
