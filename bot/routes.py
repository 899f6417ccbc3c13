"""Which command and which card verb go to which handler, and what the access policy asks of each.

A table, not an if/elif chain. Every entry names its act (kam.access.Act) and how its
subject is found: a route cannot be added without deciding who may use it, and the
access matrix in the tests is generated from these tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.handlers import (
    account,
    acknowledge,
    admin,
    contact,
    decision,
    general,
    list_review,
    nudges,
    price_action,
    review,
    rules,
    stakeholders,
    timeline,
)
from bot.requests import (
    CommandRequest,
    SubjectOf,
    VerbRequest,
    named_account,
    named_agreement,
    named_conflict,
    named_item,
    named_list_review,
    named_nudge,
    named_proposal,
    named_review,
    named_stakeholder,
    named_tie,
    no_subject,
    picked_account,
)
from bot.turn import Reply, Turn, argument_of
from cards.account import VERB_CREATE
from cards.ack_batch import VERB_ACKNOWLEDGE_IN_BATCH, VERB_VIEW_BATCH
from cards.acknowledge import VERB_ACKNOWLEDGE, VERB_DISMISS_CONFLICT, VERB_END_AGREEMENT, VERB_VIEW
from cards.contact import VERB_SAVE
from cards.decision import VERB_SAVE_DECISION
from cards.forms import VERB_PICK, VERB_PICK_FOR_DECISION, VERB_PICK_FOR_STAKEHOLDER
from cards.i18n import in_every_language
from cards.list_review import (
    VERB_COMMENT_LIST_REVIEW,
    VERB_DECIDE_LIST_REVIEW,
    VERB_SAVE_CANDIDATE,
    VERB_SAVE_SCORES,
)
from cards.nudge import VERB_MEETING_NOT_RELEVANT
from cards.price_action import VERB_SAVE_PRICE_ACTION
from cards.review import VERB_CLOSE_REVIEW, VERB_REMIND_REVIEW, VERB_START_REVIEW, VERB_UPDATE_REVIEW
from cards.rules import VERB_SAVE_RULES
from cards.stakeholders import VERB_ADD_STAKEHOLDER, VERB_EDIT_STAKEHOLDER, VERB_SET_STRENGTH
from cards.timeline import VERB_TIMELINE_PAGE
from kam.access import Act

CommandHandler = Callable[[Turn, CommandRequest], Awaitable[None]]
VerbHandler = Callable[[Turn, VerbRequest], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandRoute:
    """A command, named by its catalogue key: users may type it in any language we speak.

    With `takes_argument`, words may follow the command ("timeline contoso"). With
    `about_account`, the router offers the handler the accounts the caller may `act` on:
    the channel's (refused if not), or in a chat their own.
    """

    key: str
    handler: CommandHandler
    act: Act
    about_account: bool = False
    takes_argument: bool = False

    @property
    def words(self) -> frozenset[str]:
        return in_every_language(self.key)

    def matches(self, text: str) -> bool:
        return text in self.words or (self.takes_argument and argument_of(text, self.key) is not None)


@dataclass(frozen=True)
class VerbRoute:
    """A card verb. `subject` finds what the card's ids name; `bound`: a form, which only the
    person it was issued to may submit; `replay` answers a second submit of a stored form."""

    verb: str
    handler: VerbHandler
    act: Act
    subject: SubjectOf
    bound: bool = False
    replay: VerbHandler | None = None
    # A picker: with nothing chosen yet, the handler asks again (no account to check).
    optional_account: bool = False


COMMANDS: tuple[CommandRoute, ...] = (
    CommandRoute("command.help", general.show_help, Act.USE),
    CommandRoute("command.log_contact", contact.start, Act.LOG, about_account=True),
    CommandRoute("command.log_decision", decision.start, Act.LOG, about_account=True),
    CommandRoute("command.log_price_action", price_action.start, Act.LOG_PRICE_ACTION),
    CommandRoute("command.rules", rules.show, Act.VIEW, about_account=True, takes_argument=True),
    CommandRoute("command.review_plan", review.start, Act.MANAGE, about_account=True, takes_argument=True),
    CommandRoute("command.pause_nudges", nudges.pause, Act.USE),
    CommandRoute("command.resume_nudges", nudges.resume, Act.USE),
    CommandRoute("command.digest", nudges.digest_day, Act.USE, takes_argument=True),
    CommandRoute("command.accounts", general.list_accounts, Act.USE),
    CommandRoute("command.new_account", account.new_account, Act.CREATE_ACCOUNT),
    CommandRoute("command.provision", admin.provision, Act.PROVISION),
    CommandRoute("command.timeline", timeline.show, Act.VIEW, about_account=True, takes_argument=True),
    # Before "stakeholders": in German, "stakeholder hinzufügen" starts with that command's word.
    CommandRoute("command.add_stakeholder", stakeholders.add_start, Act.LOG, about_account=True),
    # Before "stakeholders" too: "stakeholder bearbeiten" (de) starts with it.
    CommandRoute("command.edit_stakeholder", stakeholders.edit_start, Act.LOG, about_account=True, takes_argument=True),
    CommandRoute("command.stakeholders", stakeholders.show_map, Act.VIEW, about_account=True, takes_argument=True),
    # After "stakeholders": its alias "relationship map" is no stakeholder's name.
    CommandRoute("command.relationship", stakeholders.strength_start, Act.LOG, about_account=True, takes_argument=True),
    CommandRoute("command.list_review", list_review.start, Act.RUN_LIST_REVIEW),
    # About no one account: the head of KAM scores any, a KA manager their own (the handler offers those).
    CommandRoute("command.score", list_review.score, Act.RECORD_CANDIDATE, takes_argument=True),
    CommandRoute("command.candidate", list_review.candidate, Act.RECORD_CANDIDATE),
)

VERB_ROUTES: tuple[VerbRoute, ...] = (
    VerbRoute(VERB_PICK, contact.pick, Act.LOG, picked_account, bound=True, optional_account=True),
    VerbRoute(VERB_SAVE, contact.save, Act.LOG, named_account, bound=True, replay=contact.replay),
    VerbRoute(VERB_CREATE, account.create, Act.CREATE_ACCOUNT, no_subject, bound=True),
    VerbRoute(VERB_PICK_FOR_DECISION, decision.pick, Act.LOG, picked_account, bound=True, optional_account=True),
    VerbRoute(VERB_SAVE_DECISION, decision.save, Act.LOG, named_account, bound=True, replay=decision.replay),
    VerbRoute(VERB_TIMELINE_PAGE, timeline.page, Act.VIEW, named_account),
    VerbRoute(VERB_PICK_FOR_STAKEHOLDER, stakeholders.pick, Act.LOG, picked_account, bound=True, optional_account=True),
    VerbRoute(VERB_ADD_STAKEHOLDER, stakeholders.save, Act.LOG, named_account, bound=True),
    VerbRoute(VERB_EDIT_STAKEHOLDER, stakeholders.save_edit, Act.LOG, named_stakeholder, bound=True),
    VerbRoute(VERB_SET_STRENGTH, stakeholders.strength_save, Act.SET_STRENGTH, named_tie, bound=True),
    VerbRoute(VERB_ACKNOWLEDGE, acknowledge.acknowledge_item, Act.ACKNOWLEDGE, named_item),
    VerbRoute(VERB_VIEW, acknowledge.view, Act.VIEW, named_item),
    VerbRoute(VERB_ACKNOWLEDGE_IN_BATCH, acknowledge.acknowledge_in_batch, Act.ACKNOWLEDGE, named_item),
    # A card of several requests shows the caller their own requests on it: about them, not about one account.
    VerbRoute(VERB_VIEW_BATCH, acknowledge.view_batch, Act.USE, no_subject),
    VerbRoute(VERB_END_AGREEMENT, acknowledge.end_agreement, Act.END_AGREEMENT, named_agreement),
    VerbRoute(VERB_DISMISS_CONFLICT, acknowledge.dismiss_conflict, Act.DISMISS_CONFLICT, named_conflict),
    VerbRoute(VERB_SAVE_RULES, rules.save, Act.MANAGE, named_account, bound=True),
    VerbRoute(
        VERB_SAVE_PRICE_ACTION,
        price_action.save,
        Act.LOG_PRICE_ACTION,
        no_subject,
        bound=True,
        replay=price_action.replay,
    ),
    VerbRoute(VERB_START_REVIEW, review.start_save, Act.MANAGE, named_account, bound=True),
    VerbRoute(VERB_UPDATE_REVIEW, review.update, Act.UPDATE_REVIEW, named_review),
    VerbRoute(VERB_REMIND_REVIEW, review.remind, Act.MANAGE, named_review),
    VerbRoute(VERB_CLOSE_REVIEW, review.close, Act.MANAGE, named_review),
    VerbRoute(VERB_MEETING_NOT_RELEVANT, nudges.not_relevant, Act.ANSWER_NUDGE, named_nudge, bound=True),
    VerbRoute(VERB_COMMENT_LIST_REVIEW, list_review.comment, Act.COMMENT_LIST_REVIEW, named_proposal, bound=True),
    VerbRoute(
        VERB_DECIDE_LIST_REVIEW, list_review.decide_proposals, Act.RUN_LIST_REVIEW, named_list_review, bound=True
    ),
    VerbRoute(VERB_SAVE_SCORES, list_review.save_scores, Act.SCORE_ACCOUNT, named_account, bound=True),
    VerbRoute(VERB_SAVE_CANDIDATE, list_review.save_candidate, Act.RECORD_CANDIDATE, no_subject, bound=True),
)


@dataclass(frozen=True)
class InvokeRoute:
    """An invoke that is not a card verb: what it asks of the policy. Without a `subject`, its accounts
    are worked out as a command's (a channel of no account counts as a chat, where nothing of one is
    inserted); with one, it is about the account its value names, looked up as a card's ids are."""

    name: str
    act: Act
    subject: SubjectOf | None = None


SEARCH = InvokeRoute("composeExtension/query", Act.VIEW)
MESSAGE_ACTION = InvokeRoute("composeExtension/fetchTask", Act.LOG)
# A pasted kambot link: the handler reads the account id from the URL, the router looks it up.
UNFURL = InvokeRoute("composeExtension/queryLink", Act.VIEW, named_account)
INVOKE_ROUTES: tuple[InvokeRoute, ...] = (SEARCH, MESSAGE_ACTION, UNFURL)
# These carry card verbs: VERB_ROUTES decides them.
VERB_INVOKES = ("adaptiveCard/action", "composeExtension/submitAction")

VERBS: Mapping[str, VerbRoute] = {route.verb: route for route in VERB_ROUTES}
BOUND_VERBS = frozenset(route.verb for route in VERB_ROUTES if route.bound)


def command_for(text: str) -> CommandRoute | None:
    for route in COMMANDS:
        if route.matches(text):
            return route
    return None


def verb_route(value: object) -> VerbRoute | None:
    if isinstance(value, Mapping) and isinstance(value.get("verb"), str):
        return VERBS.get(value["verb"])
    return None
