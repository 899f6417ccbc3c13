"""The company's service catalogue: each service with its name in every language the company uses, and synonyms.

Admins keep it in a YAML file or an Excel workbook (`KAMBOT_SERVICES_FILE`), read and checked at
start-up: a file that cannot be used stops kambot with where and why. The contact form's "the
customer agreed to pay for" and a decision's concession pick a service from it; the failure checks
find its names and synonyms in free text, in any of the languages (kam.topics).

YAML::

    languages: [en, de, fr, it, es]      # every service needs a name in each
    services:
      - id: onsite-training              # letters, digits, hyphens; stays when names change
        names: {en: On-site training, de: Vor-Ort-Schulung, fr: Formation sur site, ...}
        synonyms: {en: [operator training], de: [Schulung, Einweisung]}

Excel: one sheet, a header row with `id`, `name_<language>` for each language and optionally
`synonyms_<language>` (synonyms separated by semicolons); one service per row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from kam import topics, wording
from kam.text import one_line

SERVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
NAME_MAX = 120
SERVICES_MAX = 2000
SYNONYMS_MAX = 50  # per service and language
PHRASES_MAX = 10_000  # names and synonyms in all: each is looked up in every text the checks read


class CatalogueError(Exception):
    """The catalogue cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Service:
    id: str
    names: Mapping[str, str]  # language -> name
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def name(self, language: str) -> str:
        """The name in `language` (a locale like "de-DE" works), else in English, else the first given."""
        base = language.split("-")[0].lower()
        return self.names.get(base) or self.names.get("en") or next(iter(self.names.values()))

    def phrases(self) -> list[topics.Phrase]:
        """Every name and synonym, each in its language; in the checks' languages only (a stemmer is needed)."""
        written = [(lang, n) for lang, n in self.names.items()]
        written += [(lang, s) for lang, words in self.synonyms.items() for s in words]
        return [topics.phrase(lang, w) for lang, w in written if lang in topics.LANGUAGES]


@dataclass(frozen=True, eq=False)  # one catalogue per file read: compared (and cached on) as itself
class Catalogue:
    languages: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()

    @cached_property
    def by_id(self) -> dict[str, Service]:
        return {s.id: s for s in self.services}

    @cached_property
    def _phrases(self) -> list[tuple[Service, topics.Phrase]]:
        return [(s, p) for s in self.services for p in s.phrases()]

    def get(self, service_id: str | None) -> Service | None:
        return self.by_id.get(service_id or "")

    def places(self, text: topics.Text) -> list[tuple[str, topics.Found]]:
        """Where `text` names a service: the service's id and the words that name it. A name inside another
        service's longer name, as written, is that one's ("service" in "24/7 service hotline"); so are day and
        month names ("Montag" is no "Montage")."""
        owner = {id(p): s.id for s, p in self._phrases}
        found = [
            (owner[id(f.phrase)], f)
            for f in topics.find(text, [p for _, p in self._phrases], any_order=True)
            if not all(text.words[i].folded in wording.calendar_words() for i in range(f.first, f.last + 1))
        ]
        return [(service, place) for service, place in found if not _inside_another(service, place, found)]

    @classmethod
    def load(cls, path: str | Path | None) -> Catalogue:
        """The catalogue in `path` (.yaml, .yml or .xlsx); none without a path. Raises CatalogueError."""
        if not path:
            return cls()
        suffix = Path(path).suffix.lower()
        if suffix == ".xlsx":
            return parse(_read_workbook(Path(path)), str(path))
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise CatalogueError(f"{path}: {error}") from None
        return parse(raw, str(path))


def _inside_another(service: str, place: topics.Found, found: list[tuple[str, topics.Found]]) -> bool:
    return any(
        other != service
        and o.in_order
        and o.first <= place.first
        and place.last <= o.last
        and o.last - o.first > place.last - place.first
        for other, o in found
    )


def parse(raw: Any, where: str) -> Catalogue:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: expected the sections languages and services")
    languages = _languages(raw.get("languages"))
    entries = raw.get("services")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{where}: services: list at least one service (id, names, synonyms)")
    if len(entries) > SERVICES_MAX:
        raise CatalogueError(f"{where}: services: at most {SERVICES_MAX} services")
    services: list[Service] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        here = str(entry.pop(_ROW)) if isinstance(entry, dict) and _ROW in entry else f"services[{i}]"
        service = _service(entry, here, languages)
        if service.id in seen:
            raise CatalogueError(f"{here}: the id {service.id!r} is already used by {seen[service.id]}")
        seen[service.id] = here
        services.append(service)
    phrases = sum(len(s.names) + sum(len(w) for w in s.synonyms.values()) for s in services)
    if phrases > PHRASES_MAX:
        raise CatalogueError(f"{where}: {phrases} names and synonyms in all; at most {PHRASES_MAX}")
    return Catalogue(languages, tuple(services))


def _languages(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise CatalogueError("languages: a list of language codes, e.g. [en, de, fr]")
    unknown = [x for x in raw if x.lower() not in topics.LANGUAGES]
    if unknown:
        raise CatalogueError(f"languages: {', '.join(unknown)} not one of {', '.join(topics.LANGUAGES)}")
    return tuple(x.lower() for x in raw)


def _service(raw: Any, where: str, languages: tuple[str, ...]) -> Service:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: expected id, names and synonyms")
    service_id = raw.get("id")
    if not isinstance(service_id, str) or not SERVICE_ID.fullmatch(service_id):
        raise CatalogueError(f"{where}.id: lower-case letters, digits and hyphens, e.g. onsite-training")
    where = f"{where} ({service_id})"
    names = _words_by_language(raw.get("names"), f"{where}.names", single=True)
    if not names:
        raise CatalogueError(f"{where}.names: give at least one name, e.g. {{en: On-site training}}")
    missing = [lang for lang in languages if lang not in names]
    if missing:
        raise CatalogueError(f"{where}.names: no name in {', '.join(missing)} (languages lists it)")
    synonyms = _words_by_language(raw.get("synonyms") or {}, f"{where}.synonyms", single=False)
    return Service(
        service_id,
        {lang: words[0] for lang, words in names.items()},
        {lang: words for lang, words in synonyms.items()},
    )


def _words_by_language(raw: Any, where: str, *, single: bool) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: expected language: {'name' if single else '[synonyms]'}")
    found: dict[str, tuple[str, ...]] = {}
    for language, value in raw.items():
        here = f"{where}.{language}"
        if str(language).lower() not in topics.LANGUAGES:
            raise CatalogueError(f"{here}: not one of the languages {', '.join(topics.LANGUAGES)}")
        if str(language).lower() in found:
            raise CatalogueError(f"{here}: {str(language).lower()} is given twice")
        values = [value] if single or isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            raise CatalogueError(f"{here}: expected {'a name' if single else 'a list of synonyms'}")
        if len(values) > SYNONYMS_MAX:
            raise CatalogueError(f"{here}: at most {SYNONYMS_MAX} synonyms per language")
        words = tuple(_word(v, here) for v in values)
        found[str(language).lower()] = words
    return found


def _word(value: Any, where: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CatalogueError(f"{where}: expected text")
    text = one_line(str(value))
    words = topics.read(text).words
    if not text or not words:
        raise CatalogueError(f"{where}: empty")
    if all(w.folded.isdigit() or (topics.is_stop_word(w.folded) and len(w.folded) <= 4) for w in words):
        raise CatalogueError(f"{where}: {text!r} has only common words or numbers, which every text has")
    if len(text) > NAME_MAX:
        raise CatalogueError(f"{where}: at most {NAME_MAX} characters")
    return text


def _read_workbook(path: Path) -> dict[str, Any]:
    """An Excel catalogue as the YAML's shape; a cell that is wrong is named by its sheet, column and row."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise CatalogueError(f"{path}: not an Excel workbook ({error.__class__.__name__})") from None
    try:
        return _services_of(workbook.worksheets[0].iter_rows(values_only=True), path)
    except CatalogueError:
        raise
    except Exception as error:  # a chart sheet first, a damaged sheet: openpyxl raises many kinds
        raise CatalogueError(f"{path}: the first sheet cannot be read ({error.__class__.__name__})") from None
    finally:
        workbook.close()


def _services_of(rows: Any, path: Path) -> dict[str, Any]:
    header = [str(h or "").strip().lower().replace(" ", "_") for h in next(rows, ())]
    if "id" not in header:
        raise CatalogueError(f"{path}: the first row needs the headers id and name_<language>, e.g. name_en")
    languages = [h.removeprefix("name_") for h in header if h.startswith("name_")]
    services = []
    for number, row in enumerate(rows, start=2):
        cells = dict(zip(header, row, strict=False))
        if not any(v not in (None, "") for v in cells.values()):
            continue
        names = {lang: cells[f"name_{lang}"] for lang in languages if cells.get(f"name_{lang}") not in (None, "")}
        synonyms = {
            key.removeprefix("synonyms_"): [s.strip() for s in str(value).split(";") if s.strip()]
            for key, value in cells.items()
            if key.startswith("synonyms_") and value not in (None, "")
        }
        services.append({"id": cells.get("id"), "names": names, "synonyms": synonyms, _ROW: f"row {number}"})
    return {"languages": languages, "services": services}


_ROW = "_where"  # an Excel service's place in its sheet, for the messages
