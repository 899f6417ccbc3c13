"""The one cleaning every free-text field gets, wherever people type it (cards, tabs, imports).

What a person cannot mean to send is dropped: C0 and C1 control characters (but
line breaks and tabs), and every Unicode *format* character (category Cf): the
bidi overrides and isolates that make a name read backwards, zero-width spaces
and joiners that hide text inside text, the byte-order mark, soft hyphens and the
invisible tag characters. Lone surrogates (Cs) cannot be stored and are dropped
too. Line and paragraph separators become line breaks, tabs become spaces.

The character class is written out (not computed at import); a test compares it
with `unicodedata.category` over every code point, so a new Unicode version
that adds format characters fails the test rather than slipping through.
"""

from __future__ import annotations

import re

_INVISIBLE = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 and C1 controls, but tab and line feed (CR is a line break below)
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
    "\ud800-\udfff"
    "]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u0085\u2028\u2029]")


def clean_text(text: str) -> str:
    """`text` without invisible and direction-changing characters, line breaks as \\n, trimmed."""
    return _INVISIBLE.sub("", _LINE_BREAKS.sub("\n", text)).replace("\t", " ").strip()


def one_line(text: str) -> str:
    """A cleaned single-line value (a name, a title): white space folded."""
    return " ".join(clean_text(text).split())


_NUMBER = re.compile(r"[0-9]{1,9}")


def plain_number(raw: str) -> int | None:
    """A number as kambot writes one into a card or a link (ASCII digits, at most nine); else None.

    `str.isdigit` is not the test: it takes "²", which int() refuses, and "١", which int() reads as 1."""
    return int(raw) if _NUMBER.fullmatch(raw) else None
