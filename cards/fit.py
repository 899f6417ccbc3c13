"""How much of a list that can grow a card shows, and how a long text is shortened.

Teams refuses a bot message over about 100 KB, counted as UTF-16 (Microsoft recommends
staying within 80 KB), with 413 MessageSizeTooBig, and a message that is refused is not
delivered at all. Every user text already has a maximum length (kam/); what else can grow
(the people asked to acknowledge, an account's stakeholders, the items of a plan, the
accounts someone is on) is shown up to a fixed number of entries, then "and N more" with
where the rest is: the next page, a tab of the account's channel, or the channel itself.
tests/unit/test_card_sizes.py builds every card at its largest and keeps it under 80 KB.

A text is only ever shortened for display, on a character boundary with an ellipsis,
where the whole of it is kept elsewhere; never the value of an input, which would be
saved back shortened.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TypeVar

from microsoft_teams.cards import Action, OpenUrlAction

from cards.i18n import Texts

T = TypeVar("T")

ELLIPSIS = "…"
NAMES_SHOWN = 10  # names in one list on a card ("Waiting for ...")
NAME_WIDTH = 32  # characters of a name in such a list; Teams and the tabs show it whole


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters: cut between two characters (never inside one, nor between a
    letter and its combining marks) and ended with an ellipsis."""
    if len(text) <= width:
        return text
    cut = max(width - 1, 0)
    while cut > 0 and unicodedata.category(text[cut]).startswith("M"):
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS


def first(items: Sequence[T], most: int) -> tuple[list[T], int]:
    """The first `most` items, and how many were left out."""
    return list(items[:most]), max(len(items) - most, 0)


def names_text(t: Texts, names: Sequence[str], *, most: int = NAMES_SHOWN, width: int = NAME_WIDTH) -> str:
    """ "A, B and 7 more": at most `most` names, each shortened to `width` characters."""
    shown, more = first(names, most)
    listed = ", ".join(shorten(name, width) for name in shown)
    return t("list.and_more", names=listed, count=more) if more else listed


def to_tab(t: Texts, tab: str, url: str | None) -> list[Action]:
    """A button to the tab of the account's channel that has the whole of what the card shows in part."""
    return [OpenUrlAction(title=t(f"open.{tab}"), url=url)] if url else []
