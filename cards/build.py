"""Small builders shared by every card: typed elements in, card JSON out.

User-supplied text (names, summaries, account names from a CRM) only ever goes
into `TextRun`s, which Adaptive Cards render literally: no markdown, links or
mentions can be smuggled in. Static strings from the catalogues use TextBlock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from microsoft_teams.cards import (
    Action,
    AdaptiveCard,
    CardElement,
    Container,
    ImBackSubmitActionData,
    Mention,
    MentionedEntity,
    RefreshDefinition,
    RichTextBlock,
    SubmitAction,
    SubmitActionData,
    TeamsCardProperties,
    TextBlock,
    TextColor,
    TextRun,
    Version,
)

from cards.fit import shorten
from kam.text import clean_text

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION: Final[Version] = "1.5"
FALLBACK_WIDTH = 500  # characters of the text shown where a card cannot be (notifications, old clients)

_MENTION_UNSAFE = re.compile(r"[<>\[\]()*_`~#|\\]")


def clean(text: str) -> str:
    """Every user text on a card, and every input read back from one, goes through kam's one cleaning."""
    return clean_text(text)


def heading(text: str) -> RichTextBlock:
    run: list[CardElement] = [TextRun(text=clean(text), size="Large", weight="Bolder")]
    return RichTextBlock(inlines=run)


def static(text: str, *, subtle: bool = False, color: TextColor | None = None, bold: bool = False) -> TextBlock:
    """A catalogue string with no user data in it."""
    return TextBlock(text=text, wrap=True, is_subtle=subtle or None, color=color, weight="Bolder" if bold else None)


def plain(text: str, *, subtle: bool = False, bold: bool = False, color: TextColor | None = None) -> RichTextBlock:
    """Text that may contain user input, rendered literally."""
    run: list[CardElement] = [
        TextRun(text=clean(text), is_subtle=subtle or None, weight="Bolder" if bold else None, color=color)
    ]
    return RichTextBlock(inlines=run)


Callout = Literal["attention", "warning", "good"]


def callout(text: str, style: Callout, *, bold: bool = False, user_text: bool = True) -> Container:
    """A line that must be read (a conflict, a warning, a confirmation), on a band of the host's colour for it.

    The text keeps the host's default colour for that band, which every Teams theme makes readable on it;
    coloured text is not (the "Warning" yellow on a white card is 1.5:1). tests/unit/test_warning_contrast.py
    measures it in Teams' light, dark and high-contrast host configs. `user_text`: may hold what a user wrote.
    """
    line = plain(text, bold=bold) if user_text else static(text, bold=bold)
    return Container(style=style, items=[line])


def labelled(label: str, value: str) -> list[CardElement]:
    """A bold label over a user-written value; nothing when the value is empty."""
    if not value.strip():
        return []
    return [static(label, bold=True), plain(value)]


def command_button(title: str, command: str) -> SubmitAction:
    """A button that sends a command as if the user typed it."""
    data = SubmitActionData(msteams=ImBackSubmitActionData(value=command).model_dump(exclude_none=True))
    return SubmitAction(title=title, data=data)


ECHO_WIDTH = 40


def echoed(text: str, width: int = ECHO_WIDTH) -> str:
    """What a user typed, said back in a plain Teams message (not a card): short, with nothing Teams would
    read as markdown, a link or a mention."""
    return shorten(_MENTION_UNSAFE.sub("", clean(text)), width)


def mention_tag(name: str) -> str:
    return f"<at>{_MENTION_UNSAFE.sub('', name).strip()}</at>"


def mention(user_id: str, name: str) -> Mention:
    return Mention(
        text=mention_tag(name), mentioned=MentionedEntity(id=user_id, name=_MENTION_UNSAFE.sub("", name).strip())
    )


@dataclass(frozen=True)
class Recipient:
    """Someone to @mention: the id Teams knows them by, and their name."""

    user_id: str
    name: str


def card(
    body: Sequence[CardElement],
    actions: Sequence[Action] = (),
    *,
    fallback_text: str,
    mentions: Sequence[Mention] = (),
    refresh: RefreshDefinition | None = None,
    version: Version = CARD_VERSION,
) -> dict[str, Any]:
    """Serialise a card once, with the version Teams renders everywhere (or an older one where
    Teams renders no newer: `version`).

    No `lang` is written: Teams renders in the user's locale anyway, and the
    official renderer rejects every second `lang` it parses.
    """
    adaptive = AdaptiveCard(
        version=version,
        fallback_text=shorten(clean(fallback_text), FALLBACK_WIDTH),
        body=list(body),
        actions=list(actions) or None,
        refresh=refresh,
        msteams=TeamsCardProperties(width="full", entities=list(mentions) or None),
    )
    payload = adaptive.model_dump(exclude_none=True, by_alias=True)
    payload["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json"
    return payload
