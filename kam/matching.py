"""Is a concession about the service the customer agreed to pay for? Is a text a framework agreement? And why.

The catalogue decides first: a service picked on the form, or named in the text by any of its
names or synonyms in any language, is that service ("Vor-Ort-Schulung" and "on-site training"
are both `onsite-training`). Two texts that each name services match when they share one, and
never because they share some other word (the same plant, the same pumps, "site" in "on-site
training" and in "parking at the site").

Where one names a service and the other none (the catalogue does not know every word for it),
all their words are compared, the service's name too. Where neither names a service, their
words are compared (stemmed, in each language; words of no topic left out): the topic matches
when the words they share are at least half of the shorter side's, so that one shared place name
does not make "noise measurement in Leipzig" the topic of "a free coffee machine for Leipzig".

A concession is read for what it gives away: the clause with its concession words, without what
follows "during", "after", "for the participants" (a free rental pump *during the overhaul* gives
away the rental pump, not the overhaul).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kam import topics, wording
from kam.catalogue import Catalogue

_ALL_OFF = re.compile(r"(?<![\d.,])100\s?%")
_WORD_MIN = 3  # shorter words say nothing about a topic ("kg", "IQ")


TopicWords = tuple[tuple[str, frozenset[tuple[str, str]]], ...]  # (as written, {(language, stem)})


@dataclass(frozen=True)
class Side:
    """One text as the checks read it: the services it names (with the words that name each; "" for a service
    picked on the form), its other topic words, and all its topic words (the services' names too)."""

    services: dict[str, str]
    words: TopicWords
    picked: str | None = None
    all_words: TopicWords = ()


@dataclass(frozen=True)
class Why:
    """Why two items are about the same thing: the catalogue service both name, or the words they share."""

    service: str | None = None  # the catalogue id
    first_words: str = ""  # as written in the earlier item ("" when its service was picked)
    second_words: str = ""  # as written in the later one

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "first": self.first_words, "second": self.second_words}


def read_side(catalogue: Catalogue, text: str, picked: str | None = None, *, given: bool = False) -> Side:
    """What `text` is about. With `given` (a concession), only what it gives away: the part of the text around
    its concession words, when that part names anything; the rest is what the thing was given for.

    Read once per catalogue and text: each concession is compared with every paid agreement of its group."""
    return _read_side(catalogue, text, picked, given)


@lru_cache(maxsize=20_000)
def _read_side(catalogue: Catalogue, text: str, picked: str | None, given: bool) -> Side:
    read = topics.read(text)
    places = catalogue.places(read)
    concession = _giving(read) if given else []
    # What is given first, the whole text if that part names nothing; in each, what follows "for" is the thing
    # when nothing before it names one ("the fee for phone support waived").
    side = Side({}, ())
    for narrow in (True, False) if concession else (False,):
        for purpose in (True, False):
            side = _side(
                read, places, _about(read, places, concession, purpose=purpose, narrow=narrow), catalogue, picked
            )
            if side.services or side.words:
                return side
    return side


Places = list[tuple[str, topics.Found]]


def _side(read: topics.Text, places: Places, kept: set[int], catalogue: Catalogue, picked: str | None) -> Side:
    services: dict[str, str] = {}
    named: set[int] = set()
    for service_id, place in places:
        if all(i in kept for i in range(place.first, place.last + 1)):
            named.update(range(place.first, place.last + 1))
            quote = read.quote(place.first, place.last)
            if len(quote) > len(services.get(service_id, "")):
                services[service_id] = quote
    if picked and catalogue.get(picked) is not None:
        services = {picked: "", **services}
    return Side(
        services,
        _topic_words(read, kept - named),
        picked if picked in services else None,
        _topic_words(read, kept),
    )


def _about(
    read: topics.Text, places: Places, concession: list[tuple[int, int]], *, purpose: bool, narrow: bool
) -> set[int]:
    """The words a text is about (`narrow`: in the clauses that hold its `concession` words), without what
    follows a context word ("during", "während") up to what is given or the clause's end, nor (with `purpose`)
    what follows "for", "on", "für" ("free training for the maintenance team")."""
    clauses = read.clauses
    # "vor" of "Vor-Ort-Schulung" is no context word; "during" between "pump" and "overhaul" is.
    in_service = {i for _, place in places if place.in_order for i in range(place.first, place.last + 1)}
    in_concession = {i for first, last in concession for i in range(first, last + 1)}
    cut = wording.context_words() | (wording.purpose_words() if purpose else frozenset())
    kept: set[int] = set()
    skipping = False
    for i, word in enumerate(read.words):
        if i in in_concession or (i and clauses[i] != clauses[i - 1]):
            skipping = False  # context runs to what is given, or to the end of its clause
        if i in in_concession and i not in in_service:  # "senza spese di trasporto": "spese" names the service too
            continue
        if word.folded in cut and i not in in_service and not _joined(read, word):
            skipping = True
        if not skipping:
            kept.add(i)
    if narrow:
        giving = {clauses[i] for i in in_concession}
        return {i for i in kept if clauses[i] in giving}
    return kept


def _joined_before(read: topics.Text, word: topics.Word) -> bool:
    return read.raw[max(0, word.start - 1) : word.start] == "-"


def _joined_after(read: topics.Text, word: topics.Word) -> bool:
    return read.raw[word.end : word.end + 1] == "-"


def _joined(read: topics.Text, word: topics.Word) -> bool:
    """A word that is part of a hyphenated one ("on" in "on-site", "vor" in "Vor-Ort")."""
    return read.raw[word.end : word.end + 1] == "-" or read.raw[max(0, word.start - 1) : word.start] == "-"


def _topic_words(read: topics.Text, kept: set[int]) -> tuple[tuple[str, frozenset[tuple[str, str]]], ...]:
    """The words that may name a topic, each with its stem in every language."""
    skip = wording.not_a_topic()
    words = []
    for i in sorted(kept):
        word = read.words[i]
        if len(word.folded) < _WORD_MIN or word.folded.isdigit() or topics.is_stop_word(word.folded):
            continue
        stems = frozenset((language, topics.stem(language, word.folded)) for language in topics.LANGUAGES)
        if not any(s in skip for _, s in stems):
            words.append((read.quote(i, i), stems))
    return tuple(words)


def same_topic(first: Side, second: Side) -> Why | None:
    """Whether the later item (`second`) is about what the earlier one (`first`) was, and why; None if not."""
    if first.services and second.services:
        shared = [s for s in first.services if s in second.services]
        if not shared:
            return None
        service = next((s for s in shared if s in (first.picked, second.picked)), shared[0])
        return Why(service, first.services[service], second.services[service])
    if first.services or second.services:
        # One names a service the catalogue knows, the other in words it does not: compare all their words.
        return _shared_words(first.all_words, second.all_words)
    return _shared_words(first.words, second.words)


def _shared_words(first: TopicWords, second: TopicWords) -> Why | None:
    if not first or not second:
        return None
    first_shared = [w for w, stems in first if any(stems & other for _, other in second)]
    second_shared = [w for w, stems in second if any(stems & other for _, other in first)]
    if not first_shared or len(first_shared) * 2 < min(len(first), len(second)):
        return None
    return Why(None, ", ".join(dict.fromkeys(first_shared)), ", ".join(dict.fromkeys(second_shared)))


def _giving(read: topics.Text) -> list[tuple[int, int]]:
    """Where a text says something is free: its concession words, or a negated billing word ("not invoiced",
    "berechnen wir nicht", "sin cargo"). Labels of the whole decision ("goodwill", "Kulanz") are not among them:
    they say nothing about which thing is free."""
    places = [
        (f.first, f.last)
        for f in topics.find(read, wording.concession_phrases())
        if f.first != f.last or not _joined_before(read, read.words[f.first])  # "oil-free" is no gift
    ]
    negations = wording.negation_words()
    for billed in topics.find(read, wording.billing_phrases()):
        reach = range(max(0, billed.first - wording.NEGATION_REACH), billed.last + wording.NEGATION_REACH + 1)
        near = [
            i
            for i in reach
            if i < len(read.words)
            and read.clauses[i] == read.clauses[billed.first]
            and read.words[i].folded in negations
        ]
        if near:
            places.append((min(near[0], billed.first), max(near[-1], billed.last)))
    return places


def concession_words(text: str) -> str | None:
    """The words that say `text` gives something away free ("kostenlos", "sans frais", "Kulanz"), as written;
    None if none."""
    read = topics.read(text)
    places = _giving(read) + [(f.first, f.last) for f in topics.find(read, wording.label_phrases())]
    if not places:
        return None
    first, last = max(places, key=lambda p: (p[1] - p[0], -p[0]))
    return read.quote(first, last)


def only_discount(text: str) -> bool:
    """A price changed, not a service given away: a reduction ("5 % Rabatt", "sconto del 10%") with no word of
    giving anything away, or one in the same clause as them ("the price increase waived"). 100 % off gives it
    away."""
    if _ALL_OFF.search(text):
        return False
    read = topics.read(text)
    discounts = topics.find(read, wording.discount_phrases())
    if not discounts:
        return False
    giving = _giving(read)
    return not giving or any(read.clauses[d.first] == read.clauses[g[0]] for d in discounts for g in giving)


def framework_words(text: str) -> str | None:
    """The words that make `text` a framework agreement ("accordo quadro", "MSA"), as written; None if none, and
    None for an order under one that exists ("Abruf aus bestehendem Rahmenvertrag")."""
    read = topics.read(text)
    references = topics.find(read, wording.reference_phrases())
    ended = topics.find(read, wording.ended_phrases())
    negations = wording.negation_words()

    def opens_one(f: topics.Found) -> bool:
        before = range(max(0, f.first - wording.REFERENCE_REACH), f.first)
        if any(f.first - wording.REFERENCE_REACH <= r.last < f.first or r.first == f.last + 1 for r in references):
            return False  # an order under one that exists
        if any(read.words[i].folded in negations for i in before) or any(e.first == f.last + 1 for e in ended):
            return False  # none, or one that ends
        return f.first != f.last or not _joined_after(read, read.words[f.last])  # "RV-Pumpe" is a pump

    opened = [f for f in topics.find(read, wording.framework_phrases()) if opens_one(f)]
    if not opened:
        return None
    best = max(opened, key=lambda f: (f.last - f.first, -f.first))
    return read.quote(best.first, best.last)
