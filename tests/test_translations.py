"""The catalogues against the code (issue 36): every text marked in the code, the templates and
the purpose register is translated in every catalogue, none is fuzzy, placeholders agree; the
Dutch texts parents read are at B1 by Flesch-Douma; languages are negotiated and dates written
per language.

B1, as measured here: every Dutch text of ten words or more scores at least 60 on Flesch-Douma
(206.84 - 0.77 x syllables per 100 words - 0.93 x words per sentence; textstat with its Dutch
hyphenation). 60-70 is "vrij gemakkelijk", what B1 readers manage. Shorter texts are left out:
one long compound ("Kindkoppeling", "samenwerkingsverband") decides their score on its own.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import textstat
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.translations import (
    SOURCE,
    catalogue_path,
    in_language,
    languages,
    local_date,
    name_of,
    negotiate,
)

ROOT = Path(__file__).resolve().parents[1]
B1_FLOOR = 60.0
B1_MIN_WORDS = 10


def marked() -> dict[str, str]:
    """Every text marked for translation, as Babel finds it with ``babel.cfg``, and where."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, filename)
    return found


def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


TRANSLATED = [code for code in languages() if code != SOURCE]


def test_there_is_a_language_beside_dutch() -> None:
    assert languages()[0] == SOURCE and "en" in TRANSLATED


def test_the_extraction_finds_texts_of_every_kind() -> None:
    found = marked()
    assert "Mijn kinderen" in found  # a template
    assert "Dit kind hoort niet bij uw gegevens." in found  # Python
    assert "Thuistaal" in found and found["Thuistaal"].endswith("data.json")  # the register
    assert "Er staat iets voor u klaar in Kindkoppeling" in found  # the e-mail


def gaps(held: Catalog) -> tuple[list[str], list[str]]:
    """The marked texts a catalogue lacks or leaves empty, and the ones it has as fuzzy."""
    strings: dict[str, str] = {}
    fuzzy = []
    for message in held:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            fuzzy.extend(ids)
        for text_id in ids:
            strings[text_id] = min(texts, key=len)
    return sorted(text for text in marked() if not strings.get(text)), fuzzy


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_translated_and_none_is_fuzzy(language: str) -> None:
    missing, fuzzy = gaps(catalogue(language))
    assert missing == [], f"untranslated in {language}: run scripts/translations, then translate"
    assert fuzzy == [], f"fuzzy in {language}: check and confirm these translations"


def test_a_missing_an_empty_or_a_fuzzy_translation_is_caught() -> None:
    held = catalogue("en")
    held.delete("Mijn kinderen")
    held["Uitloggen"].string = ""
    held["Opslaan"].flags.add("fuzzy")
    assert gaps(held) == (["Mijn kinderen", "Uitloggen"], ["Opslaan"])


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_placeholders_of_each_translation_match_its_text(language: str) -> None:
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue(language).check()]
    assert problems == []


def test_the_dutch_texts_parents_read_are_at_b1() -> None:
    textstat.set_lang("nl")
    scored = []
    for text in marked():
        plain = re.sub(r"%\(\w+\)[sd]", "X", text)
        if len(plain.split()) >= B1_MIN_WORDS:
            scored.append((textstat.flesch_reading_ease(plain), plain))
    assert len(scored) >= 30
    hard = [(round(score), text) for score, text in scored if score < B1_FLOOR]
    assert hard == []


def test_the_b1_measure_tells_hard_dutch_from_plain() -> None:
    textstat.set_lang("nl")
    official = (
        "De toelaatbaarheidsverklaring wordt door het samenwerkingsverband afgegeven nadat "
        "deskundigenadvisering heeft plaatsgevonden overeenkomstig de wettelijke bepalingen."
    )
    plain = "De school vraagt of uw kind naar een andere school mag. U krijgt daar bericht over."
    assert textstat.flesch_reading_ease(official) < B1_FLOOR <= textstat.flesch_reading_ease(plain)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("de-DE", SOURCE),
        ("", SOURCE),
        ("en;q=0, nl;q=0.1", "nl"),
        ("*", SOURCE),
        ("en;q=bad", SOURCE),
    ],
)
def test_accept_language_picks_the_best_language_we_have(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def test_dates_and_names_are_written_per_language() -> None:
    moment = datetime(2027, 6, 30, 21, 59, 59, tzinfo=UTC)  # 23:59 in Amsterdam (summer)
    assert local_date(moment, "nl") == "30 juni 2027, 23:59"
    assert local_date(moment, "en") == "30 June 2027, 23:59"
    assert local_date(date(2027, 3, 1), "nl") == "1 maart 2027"
    assert local_date(date(2027, 3, 1), "en") == "1 March 2027"
    assert (name_of("nl"), name_of("en")) == ("Nederlands", "English")


def test_texts_outside_a_request_come_in_the_language_asked() -> None:
    assert in_language("en", "moeder") == "mother"
    assert in_language("nl", "moeder") == "moeder"
    assert in_language("xx", "moeder") == "moeder"


def test_a_third_language_is_only_a_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the README promises: a ``messages.po`` under ``locales/<language>/`` is enough for
    negotiation, the switch's list, texts and dates."""
    from gateway import translations

    german = tmp_path / "de" / "LC_MESSAGES" / "messages.po"
    german.parent.mkdir(parents=True)
    held = catalogue("en")
    held.locale = "de"  # type: ignore[assignment]
    held["moeder"].string = "Mutter"
    with german.open("wb") as po:
        write_po(po, held)
    monkeypatch.setattr(translations, "LOCALES", tmp_path)
    translations.languages.cache_clear()
    translations.translations.cache_clear()
    try:
        assert translations.languages() == (SOURCE, "de")
        assert negotiate("de-AT,de;q=0.9") == "de"
        assert in_language("de", "moeder") == "Mutter"
        assert local_date(date(2027, 3, 1), "de") == "1 März 2027"
        assert name_of("de") == "Deutsch"
    finally:
        monkeypatch.undo()
        translations.languages.cache_clear()
        translations.translations.cache_clear()
    assert "de" not in languages()


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_any_accept_language_header_gives_one_of_our_languages(header: str) -> None:
    assert negotiate(header) in languages()
