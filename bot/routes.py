"""Which typed command and which card verb go to which handler: a table, not an if/elif chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.handlers import (
    account,
    acknowledge,
    admin,
    contact,
    decision,
    general,
    nudges,
    price_action,
    review,
    rules,
    stakeholders,
    timeline,
)
from bot.services import Reply, Turn
from bot.turn import argument_of
from cards.account import VERB_CREATE
from cards.acknowledge import VERB_ACKNOWLEDGE, VERB_END_AGREEMENT, VERB_VIEW
from cards.contact import VERB_PICK, VERB_PICK_FOR_DECISION, VERB_PICK_FOR_STAKEHOLDER, VERB_SAVE
from cards.decision import VERB_SAVE_DECISION
from cards.i18n import in_every_language
from cards.nudge import VERB_MEETING_NOT_RELEVANT
from cards.price_action import VERB_SAVE_PRICE_ACTION
from cards.review import VERB_CLOSE_REVIEW, VERB_REMIND_REVIEW, VERB_START_REVIEW, VERB_UPDATE_REVIEW
from cards.rules import VERB_SAVE_RULES
from cards.stakeholders import VERB_ADD_STAKEHOLDER
from cards.timeline import VERB_TIMELINE_PAGE

CommandHandler = Callable[[Turn], Awaitable[None]]
VerbHandler = Callable[[Turn, Mapping[str, Any]], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandRoute:
    """A command, named by its catalogue key: users may type it in any language we speak.

    With `takes_argument`, words may follow the command ("timeline contoso").
    """

    key: str
    handler: CommandHandler
    takes_argument: bool = False

    @property
    def words(self) -> frozenset[str]:
        return in_every_language(self.key)

    def matches(self, text: str) -> bool:
        return text in self.words or (self.takes_argument and argument_of(text, self.key) is not None)


COMMANDS: tuple[CommandRoute, ...] = (
    CommandRoute("command.help", general.show_help),
    CommandRoute("command.log_contact", contact.start),
    CommandRoute("command.log_decision", decision.start),
    CommandRoute("command.log_price_action", price_action.start),
    CommandRoute("command.rules", rules.show, takes_argument=True),
    CommandRoute("command.review_plan", review.start, takes_argument=True),
    CommandRoute("command.pause_nudges", nudges.pause),
    CommandRoute("command.resume_nudges", nudges.resume),
    CommandRoute("command.accounts", general.list_accounts),
    CommandRoute("command.new_account", account.new_account),
    CommandRoute("command.provision", admin.provision),
    CommandRoute("command.timeline", timeline.show, takes_argument=True),
    # Before "stakeholders": in German, "stakeholder hinzufügen" starts with that command's word.
    CommandRoute("command.add_stakeholder", stakeholders.add_start),
    CommandRoute("command.stakeholders", stakeholders.show_map, takes_argument=True),
)

VERBS: Mapping[str, VerbHandler] = {
    VERB_PICK: contact.pick,
    VERB_SAVE: contact.save,
    VERB_CREATE: account.create,
    VERB_PICK_FOR_DECISION: decision.pick,
    VERB_SAVE_DECISION: decision.save,
    VERB_TIMELINE_PAGE: timeline.page,
    VERB_PICK_FOR_STAKEHOLDER: stakeholders.pick,
    VERB_ADD_STAKEHOLDER: stakeholders.save,
    VERB_ACKNOWLEDGE: acknowledge.acknowledge_item,
    VERB_VIEW: acknowledge.view,
    VERB_END_AGREEMENT: acknowledge.end_agreement,
    VERB_SAVE_RULES: rules.save,
    VERB_SAVE_PRICE_ACTION: price_action.save,
    VERB_START_REVIEW: review.start_save,
    VERB_UPDATE_REVIEW: review.update,
    VERB_REMIND_REVIEW: review.remind,
    VERB_CLOSE_REVIEW: review.close,
    VERB_MEETING_NOT_RELEVANT: nudges.not_relevant,
}


def command_for(text: str) -> CommandHandler | None:
    for route in COMMANDS:
        if route.matches(text):
            return route.handler
    return None


def verb_handler(value: object) -> VerbHandler | None:
    if isinstance(value, Mapping) and isinstance(value.get("verb"), str):
        return VERBS.get(value["verb"])
    return None
