"""Words compared across the five languages the checks read: English, German, French, Italian, Spanish.

A text is split into words with their place in the text (so that a finding can quote what was
written), each word is folded (case, accents, umlauts) and reduced to its stem by the Snowball
stemmer of each language. Two words are the same topic word when one language's stemmer makes
them equal: "Schulungen" and "Schulung" (German), "calibrations" and "calibration" (English),
"formazione" and "formazioni" (Italian). A word is compared in every language because a text
does not say which one it is in, and a team writes in several.

A phrase ("on-site training", "accordo quadro") is found where its words stand next to each
other, in order, stemmed by the phrase's own language. German runs words together: a German
phrase of one word is also found at the end of a longer word ("Pumpenwartung" is a "Wartung").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import snowballstemmer
from stop_words import get_stop_words

LANGUAGES = ("en", "de", "fr", "it", "es")
_STEMMER_NAMES = {"en": "english", "de": "german", "fr": "french", "it": "italian", "es": "spanish"}
_WORD = re.compile(r"[^\W_]+")
_COMPOUND_PART_MIN = 5  # a German word found inside a longer one: at least this long ("Ort" is not)


def fold(word: str) -> str:
    """Lower case without accents or umlauts: "Étalonnage" -> "etalonnage", "Überholung" -> "uberholung"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(_STEMMER_NAMES[language])


@lru_cache(maxsize=200_000)  # every word people type passes here: bounded, as a long-running server needs
def stem(language: str, folded: str) -> str:
    return str(_stemmer(language).stemWord(folded))


@cache
def _stop_words() -> frozenset[str]:
    """Words of no topic in any of the languages ("the", "für", "sur", "della", "para")."""
    return frozenset(fold(w) for language in LANGUAGES for w in get_stop_words(language))


@dataclass(frozen=True)
class Word:
    """One word of a text: where it stands, and what it is folded."""

    start: int
    end: int
    folded: str

    def stems(self) -> frozenset[str]:
        return frozenset(stem(language, self.folded) for language in LANGUAGES)


@dataclass(frozen=True)
class Text:  # cached_property needs a __dict__: no slots
    """A text as the checks read it."""

    raw: str
    words: tuple[Word, ...]

    def quote(self, first: int, last: int) -> str:
        """What was written from word `first` to word `last`, as written."""
        return self.raw[self.words[first].start : self.words[last].end]

    def stems(self, language: str) -> tuple[str, ...]:
        return tuple(stem(language, w.folded) for w in self.words)

    @cached_property
    def clauses(self) -> tuple[int, ...]:
        """The clause each word is in: a new one after ":", ";", ",", a full stop or a line break."""
        clause, numbers = 0, []
        for i, word in enumerate(self.words):
            if i and any(c in _CLAUSE_ENDS for c in self.raw[self.words[i - 1].end : word.start]):
                clause += 1
            numbers.append(clause)
        return tuple(numbers)


_CLAUSE_ENDS = frozenset(":;,.!?\n")


def read(text: str) -> Text:
    return Text(text, tuple(Word(m.start(), m.end(), fold(m.group())) for m in _WORD.finditer(text)))


def is_stop_word(folded: str) -> bool:
    return folded in _stop_words()


@dataclass(frozen=True)
class Phrase:
    """Words to look for in a text, in one language: stemmed once, found many times. `content`: the stems of its
    words that are no stop words, which `find` also looks for in any order within one clause."""

    language: str
    written: str
    stems: tuple[str, ...]
    content: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()  # folded


def phrase(language: str, written: str) -> Phrase:
    words = tuple(fold(m.group()) for m in _WORD.finditer(written))
    content = frozenset(stem(language, w) for w in words if not is_stop_word(w) and not w.isdigit())
    return Phrase(language, written, tuple(stem(language, w) for w in words), content, words)


# A stemmer reaches too far where a word is much longer than the one it stands for ("trasportatore", a conveyor,
# is no "trasporto"): an inflection adds at most this many letters.
_INFLECTION_MAX = 3


def _same_word(text: Text, i: int, stems: Sequence[str], wanted: Phrase, j: int) -> bool:
    return stems[i] == wanted.stems[j] and len(text.words[i].folded) - len(wanted.words[j]) <= _INFLECTION_MAX


@dataclass(frozen=True)
class Found:
    """Where a phrase stands in a text: words `first` to `last`."""

    phrase: Phrase
    first: int
    last: int
    in_order: bool = True  # the phrase as written; False: its words within one clause, in any order


def find(text: Text, phrases: Iterable[Phrase], *, any_order: bool = False) -> list[Found]:
    """Every place where one of `phrases` stands in `text`; `any_order`: also where the content words of a phrase
    of several all stand in one clause, in any order ("warranty extended" for "extended warranty")."""
    indexes: dict[str, _Index] = {}
    found: list[Found] = []
    for wanted in phrases:
        if not wanted.stems:
            continue
        index = indexes.get(wanted.language)
        if index is None:
            index = indexes[wanted.language] = _Index(text, text.stems(wanted.language))
        places = _places(index, wanted)
        if not places and any_order and len(wanted.content) > 1:
            places = _in_one_clause(index, wanted)
        found += places
    return found


class _Index:
    """A text's stems in one language, and where each stands: a phrase is looked up, not searched for."""

    def __init__(self, text: Text, stems: tuple[str, ...]) -> None:
        self.text = text
        self.stems = stems
        self.at: dict[str, list[int]] = {}
        for i, word_stem in enumerate(stems):
            self.at.setdefault(word_stem, []).append(i)


def _in_one_clause(index: _Index, wanted: Phrase) -> list[Found]:
    text = index.text
    longest = max(len(w) for w in wanted.words) + _INFLECTION_MAX
    where: dict[int, dict[str, int]] = {}
    for word_stem in wanted.content:
        for i in index.at.get(word_stem, ()):
            if len(text.words[i].folded) <= longest:
                where.setdefault(text.clauses[i], {}).setdefault(word_stem, i)
    return [
        Found(wanted, min(at.values()), max(at.values()), in_order=False)
        for at in where.values()
        if len(at) == len(wanted.content)
    ]


def _places(index: _Index, wanted: Phrase) -> list[Found]:
    text, stems, size = index.text, index.stems, len(wanted.stems)
    places = [
        Found(wanted, i, i + size - 1)
        for i in index.at.get(wanted.stems[0], ())
        if i + size <= len(stems) and all(_same_word(text, i + j, stems, wanted, j) for j in range(size))
    ]
    if places or size > 1 or wanted.language != "de" or len(wanted.words[0]) < _COMPOUND_PART_MIN:
        return places
    # A German compound names what its last part names: "Pumpenwartung" is a Wartung, "Schichtführerschulungen"
    # are Schulungen, "Schulungsunterlagen" are documents, not a Schulung.
    part = wanted.words[0]
    return [
        Found(wanted, i, i)
        for i, word in enumerate(text.words)
        if len(word.folded) > len(part) + _INFLECTION_MAX
        and any(word.folded[: len(word.folded) - k].endswith(part) for k in range(_INFLECTION_MAX + 1))
    ]
