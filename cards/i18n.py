"""User-facing text, one JSON catalogue per language in cards/locales/."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).with_name("locales")
FALLBACK = "en"


@cache
def _catalogue(language: str) -> dict[str, str]:
    path = LOCALES / f"{language}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def language_of(locale: str | None) -> str:
    """'de-DE' -> 'de' when we have German, else the fallback."""
    language = (locale or FALLBACK).split("-")[0].split("_")[0].lower()
    return language if _catalogue(language) else FALLBACK


@cache
def in_every_language(key: str) -> frozenset[str]:
    """What a key says in each catalogue, with its `|`-separated aliases: for matching what users type."""
    said: set[str] = set()
    for path in LOCALES.glob("*.json"):
        strings = _catalogue(path.stem)
        for variant in (key, f"{key}.aliases"):
            said.update(word.strip().lower() for word in strings.get(variant, "").split("|") if word.strip())
    return frozenset(said)


class Texts:
    """The strings of one language, with English for anything not yet translated."""

    def __init__(self, locale: str | None) -> None:
        self.language = language_of(locale)
        self._strings = _catalogue(self.language)

    def __call__(self, key: str, **values: object) -> str:
        template = self._strings.get(key) or _catalogue(FALLBACK)[key]
        return template.format(**values) if values else template
