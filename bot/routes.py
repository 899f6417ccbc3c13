"""Which typed command and which card verb go to which handler: a table, not an if/elif chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.handlers import account, admin, contact, decision, general
from bot.services import Reply, Turn
from cards.account import VERB_CREATE
from cards.contact import VERB_PICK, VERB_PICK_FOR_DECISION, VERB_SAVE
from cards.decision import VERB_SAVE_DECISION
from cards.i18n import in_every_language

CommandHandler = Callable[[Turn], Awaitable[None]]
VerbHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandRoute:
    """A command, named by its catalogue key: users may type it in any language we speak."""

    key: str
    handler: CommandHandler

    @property
    def words(self) -> frozenset[str]:
        return in_every_language(self.key)


COMMANDS: tuple[CommandRoute, ...] = (
    CommandRoute("command.help", general.show_help),
    CommandRoute("command.log_contact", contact.start),
    CommandRoute("command.log_decision", decision.start),
    CommandRoute("command.accounts", general.list_accounts),
    CommandRoute("command.new_account", account.new_account),
    CommandRoute("command.provision", admin.provision),
)

VERBS: Mapping[str, VerbHandler] = {
    VERB_PICK: contact.pick,
    VERB_SAVE: contact.save,
    VERB_CREATE: account.create,
    VERB_PICK_FOR_DECISION: decision.pick,
    VERB_SAVE_DECISION: decision.save,
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
