"""Which typed command and which card verb go to which handler: a table, not an if/elif chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.handlers import contact, general
from bot.services import Reply, Turn
from cards.contact import VERB_PICK, VERB_SAVE

CommandHandler = Callable[[Turn], Awaitable[None]]
VerbHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandRoute:
    """A command and the words that ask for it, in every language we speak."""

    words: tuple[str, ...]
    handler: CommandHandler


COMMANDS: tuple[CommandRoute, ...] = (
    CommandRoute(("help", "hilfe", "?"), general.show_help),
    CommandRoute(("log contact", "log a contact", "kontakt erfassen"), contact.start),
    CommandRoute(("accounts", "my accounts", "accounts anzeigen"), general.list_accounts),
)

VERBS: Mapping[str, VerbHandler] = {
    VERB_PICK: contact.pick,
    VERB_SAVE: contact.save,
}


def command_for(text: str) -> CommandHandler | None:
    for route in COMMANDS:
        if text in route.words:
            return route.handler
    return None


def verb_handler(value: object) -> VerbHandler | None:
    if isinstance(value, Mapping) and isinstance(value.get("verb"), str):
        return VERBS.get(value["verb"])
    return None
