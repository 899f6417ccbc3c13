"""Every card kambot can send, at its largest, stays under the 80 KB Microsoft recommends for a bot message.

Teams refuses a message over about 100 KB, counted as UTF-16, with 413 MessageSizeTooBig, and
recommends keeping it within 80 KB. Each case below builds a card with every text at its maximum
length, written in the characters that cost the most (each 4 bytes: an emoji is two UTF-16 code
units, a quotation mark is escaped in JSON), and every list as long as the code lets it grow, far
beyond what a card shows of it (cards/fit.py). The size measured is the whole activity as the
outbox posts it: the sealed card in its attachment, with the @mentions, addressed to the longest
conversation the database can name, and counted as the Bot Connector fake counts it.

The cases are checked against the code's own tables: each outbox kind (bot/outbox/render.py) and
each card builder in cards/ must have one, so a new kind or card without a size case fails here.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import inspect
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from botbuilder.core import TurnContext

import cards
from bot.new_forms import NEW_FORMS
from bot.outbox.address import Address
from bot.outbox.render import RENDERERS
from bot.tab_links import TabLinks
from bot.teams.activities import content_activity
from bot.teams.connector import reference_of
from cards.account import LIST_MAX, NAME_MAX, account_created_card, new_account_card
from cards.ack_batch import BatchItem, ack_batch_card
from cards.acknowledge import AckEntry, Attention, EndableAgreement, FlagView
from cards.brief import AttendeeLine, BriefView, CommitmentLine, ConflictLine, meeting_brief_card
from cards.build import Recipient
from cards.contact import TEXT_FIELDS as CONTACT_FIELDS
from cards.contact import ContactView, carried, channel_summary_card, contact_form_card, logged_card
from cards.decision import TEXT_FIELDS as DECISION_FIELDS
from cards.decision import DecisionView, channel_decision_card, decision_form_card, decision_logged_card
from cards.digest import digest_card
from cards.feed import acknowledge_text
from cards.fit import names_text, shorten
from cards.forms import SERVICES_SHOWN, FormContext, FormState, Option, ServiceOption, account_picker_card, for_dialog
from cards.general import (
    AccountLine,
    AccountSummary,
    account_summary_card,
    accounts_card,
    channel_welcome_card,
    delivery_failed_card,
    help_card,
    members_missing_card,
    welcome_card,
)
from cards.health import health_drop_card
from cards.i18n import Texts
from cards.kpi_card import AccountFigures, head_kpi_card, manager_kpi_card
from cards.list_review import NAME_MAX as CANDIDATE_NAME_MAX
from cards.list_review import NOTES_MAX as CANDIDATE_NOTES_MAX
from cards.list_review import (
    ProposalLine,
    candidate_card,
    comment_card,
    decide_card,
    list_review_due_card,
    score_card,
    scored_card,
)
from cards.nudge import MeetingView, meeting_dismissed_card, meeting_nudge_card
from cards.price_action import (
    COUNTRIES_MAX,
    PriceActionView,
    price_action_form_card,
    price_action_logged_card,
    price_risk_card,
)
from cards.review import (
    ReviewLine,
    ReviewView,
    review_card,
    review_due_card,
    review_start_card,
    review_summary_card,
)
from cards.rules import parse_rules_submission, rules_card
from cards.seal import seal
from cards.stakeholders import (
    TEXT_FIELDS as STAKEHOLDER_FIELDS,
)
from cards.stakeholders import (
    StakeholderLine,
    StrengthForm,
    relationship_map_card,
    stakeholder_added_card,
    stakeholder_form_card,
    strength_card,
    strength_saved_card,
)
from cards.timeline import TimelineItem, timeline_card
from kam.catalogue import NAME_MAX as SERVICE_NAME_MAX
from kam.checks import DISMISS_REASON_MAX
from kam.dependency import DependencyRisk
from kam.digest import ACKNOWLEDGE, TELL, TITLES_SHOWN, UPDATE_REVIEW, AccountGaps, AccountNews, Digest, Waiting
from kam.health import DEFAULT_WEIGHTS, Drop, FallenPart, Health, Part, PartScore
from kam.kpis import AccountKpis, FlowKpis, PlanKpis, RelationshipKpis, ResultKpis
from kam.list_reviews import COMMENT_MAX as LIST_REVIEW_COMMENT_MAX
from kam.list_reviews import ENTER, EXIT, TIER
from kam.meetings import SUBJECT_MAX
from kam.models import (
    Account,
    Attitude,
    BuyingRole,
    ContactKind,
    DecisionCategory,
    FlagKind,
    ItemKind,
    Person,
    Role,
    StakeholderLevel,
    Tier,
)
from kam.outbox import OutboxKind
from kam.plans import ITEMS_MAX, ItemStatus
from kam.price_actions import TEXT_MAX as PRICE_TEXT_MAX
from kam.price_actions import TITLE_MAX as PRICE_TITLE_MAX
from kam.relationships import Gap, GapKind, MapMember, MapStakeholder, RelationshipMap
from kam.reviews import COMMENT_MAX
from kam.rules import ABOUTS, DecideRule, InformRule, RuleSet
from kam.selection import CRITERIA_MAX, Criterion, Selection
from kam.selection import NAME_MAX as SELECTION_NAME_MAX
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import MESSAGE_SIZE_LIMIT, utf16_size

BUDGET = 80 * 1024  # Microsoft's recommendation; Teams' own limit is MESSAGE_SIZE_LIMIT
TODAY = dt.date(2026, 12, 31)
MOMENT = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
BIG_ID = 2**31 - 1
MANY = 300  # far more of anything than a card shows
# Column sizes (kam/models.py) of what a card shows but nobody types into a card.
PERSON_NAME = ACCOUNT_NAME = STAKEHOLDER_NAME = PLAN_TITLE = 200
FUNCTION = 60
TEAMS_ID = 200
TOPIC = 300
FAILURE = 300  # kam.outbox.report_failure keeps this much of the error
LONGEST_ACCOUNT = Account(id=BIG_ID, name="x", channel_id="19:" + "c" * 180 + "@thread.tacv2")
TAB_URL = TabLinks(str(uuid.UUID(int=0)), "https://" + "h" * 200 + ".example").to(LONGEST_ACCOUNT, "stakeholders")
LONGEST_ADDRESS = Address(
    service_url="https://" + "s" * 480 + ".example/",
    conversation_id="19:" + "c" * 380 + "@thread.tacv2",
    tenant_id="t" * 64,
    bot_id="28:" + "b" * 197,
    conversation_type="channel",
    member_id="29:" + "m" * 197,
)


def worst(length: int) -> str:
    """`length` characters, each 4 bytes of UTF-16 JSON: an emoji (two code units) and a quotation mark (escaped)."""
    return ('💥"' * length)[:length]


def worst_id(n: int) -> str:
    return f"29:{n:0{TEAMS_ID - 3}d}"


def activity_size(card: dict[str, Any]) -> int:
    """The card as the outbox posts it: sealed, in an attachment, addressed; counted as the fake counts it."""
    sealed = seal(copy.deepcopy(card), b"k" * 32, TODAY, lambda verb: worst_id(0))
    activity = content_activity(sealed)
    TurnContext.apply_conversation_reference(activity, reference_of(LONGEST_ADDRESS))
    return utf16_size(activity.serialize())


def people(count: int = MANY) -> list[str]:
    return [worst(PERSON_NAME) for _ in range(count)]


def attention(item_kind: ItemKind, banner: str = "") -> Attention:
    """Everyone asked, half of them done, others acknowledging unasked, every kind of finding many times over, the
    viewer asked for every reason and allowed to end many agreements, more people to refresh than Teams allows."""
    entries = [AckEntry(worst(PERSON_NAME), TODAY if i % 2 else None, required=i < MANY // 2) for i in range(MANY)]
    flags = [
        FlagView(
            BIG_ID - i,
            kind,
            worst(TOPIC),
            worst(PERSON_NAME),
            TODAY,
            True,
            worst(PERSON_NAME),
            TODAY,
            worst(TOPIC),
            found_later=bool(i % 2),
            why=worst_why(kind),
            other_account=worst(ACCOUNT_NAME) if i % 3 else None,
            dismissed_by=worst(PERSON_NAME) if i % 4 == 1 else "",
            dismissed_on=TODAY if i % 4 == 1 else None,
            dismissed_reason=worst(DISMISS_REASON_MAX),
        )
        for i, kind in enumerate(list(FlagKind) * 10)
        if not i % 2 or kind in (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK)
    ]
    reasons = ["rule:decision.pricing", "needs_confirmation", "paid_service", "free_after_paid", "parallel_framework"]
    return Attention(
        item_kind,
        BIG_ID,
        BIG_ID,
        entries,
        flags,
        [worst_id(i) for i in range(MANY)],
        [*reasons, "price_risk"],
        viewer_may_end=tuple(EndableAgreement(i, worst(TOPIC), TODAY) for i in range(1, MANY)),
        viewer_may_dismiss=tuple(BIG_ID - i for i in range(MANY)),
        banner=banner,
    )


def worst_health() -> Health:
    """Every part counted and costing points, every kind of coverage gap."""
    parts = tuple(PartScore(part, weight, 0.01, 0.1, 99.9) for part, weight in DEFAULT_WEIGHTS.items())
    return Health(BIG_ID, 100, parts, tuple(GapKind))


def worst_drop() -> Drop:
    """Every part fell, from counted to not counted."""
    return Drop(100, 0, tuple(FallenPart(part, 1.0, None) for part in Part))


def worst_why(kind: FlagKind) -> dict[str, Any]:
    """Why a check fired, every part at its longest: the words quoted, a service named in every language, the
    group's members and countries."""
    return {
        "service": worst(60),
        "service_names": {language: worst(NAME_MAX) for language in ("en", "de", "fr", "it", "es")},
        "first": worst(TOPIC),
        "second": worst(TOPIC),
        "given": worst(TOPIC),
        "words": worst(TOPIC),
        "other_words": worst(TOPIC),
        "group": True,
        "via": [worst(ACCOUNT_NAME)] * MANY,
        "via_countries": ["DE"] * 250,
    }


def must_know() -> list[Recipient]:
    return [Recipient(worst_id(i), worst(PERSON_NAME)) for i in range(MANY)]


def contact_view() -> ContactView:
    return ContactView(
        worst(ACCOUNT_NAME),
        ContactKind.VISIT,
        TODAY,
        worst(PERSON_NAME),
        stakeholders=[worst(STAKEHOLDER_NAME)] * MANY,
        customer_people=worst(CONTACT_FIELDS["customer_people"]),
        participants=people(),
        summary=worst(CONTACT_FIELDS["summary"]),
        customer_asked=worst(CONTACT_FIELDS["customer_asked"]),
        we_committed=worst(CONTACT_FIELDS["we_committed"]),
        next_steps=worst(CONTACT_FIELDS["next_steps"]),
        confidential=False,
    )


def decision_view() -> DecisionView:
    return DecisionView(
        worst(ACCOUNT_NAME),
        worst(DECISION_FIELDS["title"]),
        DecisionCategory.CONTRACT,
        worst(DECISION_FIELDS["decision"]),
        worst(DECISION_FIELDS["rationale"]),
        worst(DECISION_FIELDS["decided_by"]),
        TODAY,
        worst(DECISION_FIELDS["scope"]),
        worst(PERSON_NAME),
        TODAY,
        worst(PERSON_NAME),
        needs_confirmation=True,
    )


def price_view() -> PriceActionView:
    countries = ["DE"] * (COUNTRIES_MAX // 3)  # "DE; DE; ..." in the countries field's 200 characters
    return PriceActionView(worst(PRICE_TITLE_MAX), countries, worst(PRICE_TEXT_MAX), TODAY, TODAY, worst(PERSON_NAME))


def review_view(viewer_owns: bool) -> ReviewView:
    """A plan at its largest: every item owned (by the viewer, or by others), with the longest title and comment."""
    lines = [
        ReviewLine(
            f"{i:032x}",
            worst(PLAN_TITLE),
            worst(PERSON_NAME),
            5 if viewer_owns else 6 + i,
            ItemStatus.IN_PROGRESS.value,
            100,
            worst(COMMENT_MAX),
            True,
            bool(i % 2),
        )
        for i in range(ITEMS_MAX)
    ]
    return ReviewView(BIG_ID, BIG_ID, worst(ACCOUNT_NAME), worst(PERSON_NAME), TODAY, False, lines, people(), people())


def review_summary() -> dict[str, Any]:
    entry = {
        "title": worst(PLAN_TITLE),
        "owner": worst(PERSON_NAME),
        "status": "blocked",
        "progress": 100,
        "comment": worst(COMMENT_MAX),
        "due_on": "2026-01-01",
    }
    parts: dict[str, Any] = {part: [entry] * ITEMS_MAX for part in ("changed", "late", "decisions", "silent")}
    # A full whitespace grid (50 x 50) whose every cell changed: each listed, with the longest line names.
    cell = {"row": worst(120), "column": worst(120), "status": "pipeline", "was": "open", "potential": 1e12}
    return parts | {part: [cell] * (50 * 50) for part in ("opportunities", "lost")}


def form_context() -> FormContext:
    """An account with many stakeholders (name and job title at their longest) and a large team."""
    stakeholders = [Option(BIG_ID - i, f"{worst(STAKEHOLDER_NAME)} ({worst(200)})") for i in range(MANY)]
    team = [Option(BIG_ID - i, worst(PERSON_NAME)) for i in range(MANY)]
    services = [ServiceOption(f"service-{i}", worst(SERVICE_NAME_MAX)) for i in range(SERVICES_SHOWN * 2)]
    return FormContext(BIG_ID, worst(ACCOUNT_NAME), stakeholders, team, services)


def chosen(count: int = MANY) -> str:
    return ",".join(str(BIG_ID - i) for i in range(count))


def errors(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, worst(120))  # a message under each field (catalogue text, with numbers)


def stakeholder_state() -> FormState:
    """Every field of the stakeholder form at its longest, everyone chosen, a message under each."""
    values = {name: worst(limit) for name, limit in STAKEHOLDER_FIELDS.items()}
    values |= {"owner": str(BIG_ID), "reports_to": str(BIG_ID - 1), "influences": chosen(), "inner_circle": "true"}
    fields = (*STAKEHOLDER_FIELDS, "level", "buying_role", "attitude", "decision_power", "owner", "reports_to")
    return FormState(values, errors(*fields, "influences", "inner_circle"))


def contact_state() -> FormState:
    values = {name: worst(limit) for name, limit in CONTACT_FIELDS.items()}
    values |= {"stakeholders": chosen(), "participants": chosen(), "met_on": TODAY.isoformat(), "kind": "visit"}
    return FormState(values, errors(*CONTACT_FIELDS, "stakeholders", "participants", "met_on", "kind"))


def decision_state() -> FormState:
    values = {name: worst(limit) for name, limit in DECISION_FIELDS.items()}
    values |= {"communicator": str(BIG_ID), "category": "pricing", "effective_on": TODAY.isoformat()}
    return FormState(values, errors(*DECISION_FIELDS, "category", "effective_on", "communicator", "communicate_by"))


def rules_in_force() -> tuple[RuleSet, list[str]]:
    """Every rule naming the roles and more functions (at their longest) than the editor offers."""
    functions = [f"{i:02d}{worst(FUNCTION - 2)}" for i in range(MANY // 10)]
    named = ("manager", "admin", "team", *(f"function:{f.lower()}" for f in functions))
    rules = RuleSet(
        {about: InformRule(about, named) for about in ABOUTS},
        {category: DecideRule(category, named) for category in DecisionCategory},
        dt.timedelta(hours=1440),
        dt.timedelta(hours=1440),
    )
    return rules, functions


def digest() -> Digest:
    """A person on MANY accounts, each with news, and MANY things waiting: the card counts what it cannot show."""
    news = [
        AccountNews(i, worst(ACCOUNT_NAME), BIG_ID, BIG_ID, [worst(200)] * TITLES_SHOWN, TODAY) for i in range(MANY)
    ]
    kinds = [
        Waiting(worst(ACCOUNT_NAME), ACKNOWLEDGE, worst(200), TODAY),
        Waiting(worst(ACCOUNT_NAME), ACKNOWLEDGE, on=TODAY, contact_kind=ContactKind.MEETING),
        Waiting(worst(ACCOUNT_NAME), UPDATE_REVIEW, on=TODAY),
        Waiting(worst(ACCOUNT_NAME), TELL, worst(200), TODAY),
    ]
    person = Person(name=worst(200))
    since = dt.datetime(2026, 12, 24, tzinfo=dt.UTC)
    gaps = [AccountGaps(worst(ACCOUNT_NAME), every_gap()) for _ in range(MANY)]
    return Digest(person, since, news, kinds * MANY, [worst(ACCOUNT_NAME)] * MANY, gaps)


def every_gap() -> RelationshipMap:
    """A map with every kind of gap at once (impossible together, but each at its longest), naming MANY people."""
    ids = tuple(range(MANY))
    stakeholders = tuple(
        MapStakeholder(i, worst(STAKEHOLDER_NAME), None, None, None, None, None, False, None, None) for i in ids
    )
    members = tuple(MapMember(i, worst(PERSON_NAME), False) for i in ids)
    gaps = (
        Gap(GapKind.NO_DECISION_MAKER),
        *(Gap(GapKind.ROLE_UNFILLED, role=role) for role in BuyingRole),
        Gap(GapKind.SINGLE_THREADED, ids, person_ids=ids),
        Gap(GapKind.EXECUTIVES_NOT_MET, ids),
        Gap(GapKind.OPPONENT_OUTWEIGHS, ids),
    )
    return RelationshipMap(BIG_ID, TODAY, stakeholders, members, (), (), gaps)


def meeting() -> MeetingView:
    return MeetingView(
        BIG_ID,
        BIG_ID,
        worst(ACCOUNT_NAME),
        worst(SUBJECT_MAX),
        MOMENT,
        MOMENT,
        people(),
        [BIG_ID - i for i in range(MANY)],
    )


def brief() -> BriefView:
    """A brief with far more of everything than it shows: attendees with the longest names and titles, the longest
    contacts and decisions, commitments and conflicts."""
    attendee = AttendeeLine(
        worst(PERSON_NAME),
        True,
        worst(200),
        BuyingRole.DECISION_MAKER,
        Attitude.SUPPORTER,
        TODAY,
        worst(PERSON_NAME),
    )
    commitment = CommitmentLine(TODAY, worst(CONTACT_FIELDS["we_committed"]), worst(PERSON_NAME))
    who = worst(PERSON_NAME)
    conflict = ConflictLine(FlagKind.FREE_AFTER_PAID, worst(TOPIC), who, TODAY, who, TODAY)
    return BriefView(
        worst(ACCOUNT_NAME),
        worst(SUBJECT_MAX),
        MOMENT,
        MOMENT,
        [attendee] * MANY,
        BIG_ID,
        timeline_items() * MANY,
        [commitment] * MANY,
        BIG_ID,
        [conflict] * MANY,
        BIG_ID,
    )


def timeline_items() -> list[TimelineItem]:
    """A page of contacts with many people met, and of decisions: everything as long as it can be."""
    met = ", ".join([worst(STAKEHOLDER_NAME)] * MANY + [worst(CONTACT_FIELDS["customer_people"])])
    contact = TimelineItem("contact", TODAY, worst(30), met, worst(CONTACT_FIELDS["summary"]), worst(PERSON_NAME))
    decision = TimelineItem(
        "decision", TODAY, worst(30), worst(PLAN_TITLE), worst(DECISION_FIELDS["decision"]), worst(PERSON_NAME)
    )
    return [contact, decision, contact, decision, contact]


@dataclass(frozen=True)
class Case:
    builder: Callable[..., dict[str, Any]]
    build: Callable[[Texts], dict[str, Any]]


def item_cases(banner: Callable[[Texts], str]) -> dict[str, Case]:
    """An item in a 1:1 chat (the request to acknowledge, the reminder, the report to the KA manager)."""
    return {
        "contact": Case(
            channel_summary_card,
            lambda t: channel_summary_card(
                t,
                contact_view(),
                [],
                attention(ItemKind.CONTACT, banner(t)),
                shown_to_channel=False,
                hide_details=False,
            ),
        ),
        "decision": Case(
            channel_decision_card,
            lambda t: channel_decision_card(
                t, decision_view(), [], attention(ItemKind.DECISION, banner(t)), shown_to_channel=False
            ),
        ),
        "price action": Case(
            price_risk_card,
            lambda t: price_risk_card(
                t,
                worst(ACCOUNT_NAME),
                price_view(),
                attention(ItemKind.PRICE_ACTION, banner(t)),
                shown_to_channel=False,
            ),
        ),
        "review, the owner's": Case(
            review_card,
            lambda t: review_card(
                t,
                review_view(viewer_owns=True),
                viewer_id=5,
                viewer_is_manager=True,
                refresh_user_ids=[worst_id(i) for i in range(MANY)],
                banner=banner(t),
                plan_url=TAB_URL,
            ),
        ),
    }


def batch_items() -> list[BatchItem]:
    """More requests than a card carries, each as long as it can be and asked for every reason; half of them done."""
    reasons = [f"rule:{about}" for about in ABOUTS] + ["needs_confirmation", "paid_service", "price_risk"]
    return [
        BatchItem(
            BIG_ID,
            worst(ACCOUNT_NAME),
            ItemKind.CONTACT,
            BIG_ID,
            worst(DECISION_FIELDS["title"]),
            worst(CONTACT_FIELDS["summary"]),
            False,
            reasons,
            TODAY if i % 2 else None,
        )
        for i in range(MANY)
    ]


def proposal_lines() -> list[ProposalLine]:
    """More proposals than a card shows, of every kind, with the longest names and comments and every figure."""
    kinds = (EXIT, TIER, ENTER)
    figures = {"acknowledged_within_24h": 1.0, "decision_makers_met_90d": 1.0, "actions_late": 9e9, "revenue": 9e15}
    return [
        ProposalLine(
            BIG_ID - i,
            BIG_ID - i,
            worst(ACCOUNT_NAME),
            kinds[i % 3],
            Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT,
            Tier.INTERNATIONAL_KEY_ACCOUNT,
            5.0,
            figures,
            worst(LIST_REVIEW_COMMENT_MAX),
            worst(PERSON_NAME),
        )
        for i in range(MANY)
    ]


def account_figures() -> list[AccountFigures]:
    flow = FlowKpis(9e9, 9e9, 1.0, 1.0, {worst(PERSON_NAME): 9}, {worst(FUNCTION): 9})
    relationships = RelationshipKpis(1.0, 1.0, "n:n", 9)
    plan = PlanKpis(200, 200, 200, 200, 200, 200, 1.0, 9, 9, 9e9)
    results = ResultKpis(2026, 9e15, 1.0, 9e15, 1.0, 1.0, 9e15)
    kpis = AccountKpis(BIG_ID, flow, relationships, plan, results)
    return [AccountFigures(worst(ACCOUNT_NAME), Tier.KEY_ACCOUNT, kpis, TAB_URL) for _ in range(MANY)]


def head_card(t: Texts) -> dict[str, Any]:
    risk = DependencyRisk(2026, 1.0, 1.0, 1.0, 1.0, 0.0)
    over = ["top1_share", "top5_share", "top10_share", "herfindahl", "key_account_share"]
    kpis = [figures.kpis for figures in account_figures()]
    return head_kpi_card(t, "2026-12", kpis, risk, over, dict(Selection().dependency), TAB_URL)


def decide_state() -> FormState:
    lines = proposal_lines()
    values = {f"manager_{line.proposal_id}": worst(320) for line in lines}
    return FormState(values, errors(*values))


def overdue(t: Texts) -> str:
    """The banner of the report to the KA manager, as bot/outbox/render.py writes it."""
    return t("ack.overdue", names=names_text(t, people()))


OUTBOX_CASES: dict[OutboxKind, dict[str, Case]] = {
    OutboxKind.CHANNEL_WELCOME: {
        "welcome": Case(channel_welcome_card, lambda t: channel_welcome_card(t, worst(ACCOUNT_NAME), people()))
    },
    OutboxKind.CONTACT_LOGGED: {
        "contact": Case(
            channel_summary_card,
            lambda t: channel_summary_card(
                t, contact_view(), must_know(), attention(ItemKind.CONTACT), hide_details=False
            ),
        )
    },
    OutboxKind.DECISION_LOGGED: {
        "decision": Case(
            channel_decision_card,
            lambda t: channel_decision_card(t, decision_view(), must_know(), attention(ItemKind.DECISION)),
        )
    },
    OutboxKind.PRICE_RISK_POSTED: {
        "price risk": Case(
            price_risk_card,
            lambda t: price_risk_card(t, worst(ACCOUNT_NAME), price_view(), attention(ItemKind.PRICE_ACTION)),
        )
    },
    OutboxKind.REVIEW_STARTED: {
        "review": Case(
            review_card,
            lambda t: review_card(
                t,
                review_view(viewer_owns=False),
                viewer_id=None,
                viewer_is_manager=False,
                refresh_user_ids=[worst_id(i) for i in range(MANY)],
                plan_url=TAB_URL,
            ),
        )
    },
    OutboxKind.REVIEW_CLOSED: {
        "summary": Case(
            review_summary_card,
            lambda t: review_summary_card(t, worst(ACCOUNT_NAME), BIG_ID, review_summary(), TAB_URL),
        )
    },
    OutboxKind.ACK_REQUEST: {
        **item_cases(lambda t: ""),
        "several items": Case(
            ack_batch_card, lambda t: ack_batch_card(t, BIG_ID, batch_items(), refresh_user_id=worst_id(0))
        ),
    },
    OutboxKind.ACK_REMINDER: item_cases(lambda t: t("ack.reminder")),
    OutboxKind.CONFLICT_NOTICE: item_cases(
        lambda t: t("conflict.notice.group_framework", account=worst(ACCOUNT_NAME), mine=worst(ACCOUNT_NAME))
    ),
    OutboxKind.ACK_OVERDUE: item_cases(overdue),
    OutboxKind.REVIEW_DUE: {
        "due": Case(review_due_card, lambda t: review_due_card(t, worst(ACCOUNT_NAME), TODAY.isoformat()))
    },
    OutboxKind.NUDGE_WEEKLY: {"digest": Case(digest_card, lambda t: digest_card(t, digest(), TODAY))},
    OutboxKind.NUDGE_MEETING: {"meeting": Case(meeting_nudge_card, lambda t: meeting_nudge_card(t, meeting(), TODAY))},
    OutboxKind.MEETING_BRIEF: {"brief": Case(meeting_brief_card, lambda t: meeting_brief_card(t, brief(), TAB_URL))},
    OutboxKind.DELIVERY_FAILED: {
        "failed": Case(
            delivery_failed_card,
            lambda t: delivery_failed_card(t, worst(ACCOUNT_NAME), "contact.logged", worst(FAILURE)),
        )
    },
    OutboxKind.MEMBERS_MISSING: {
        "missing": Case(members_missing_card, lambda t: members_missing_card(t, worst(ACCOUNT_NAME), people()))
    },
    OutboxKind.LIST_REVIEW_COMMENT: {
        "comments": Case(
            comment_card,
            lambda t: comment_card(t, TODAY, proposal_lines(), TODAY, saved=worst(ACCOUNT_NAME)),
        )
    },
    OutboxKind.LIST_REVIEW_DUE: {
        "due": Case(list_review_due_card, lambda t: list_review_due_card(t, TODAY.isoformat(), TODAY.isoformat()))
    },
    OutboxKind.HEALTH_DROP: {
        "drop": Case(
            health_drop_card,
            lambda t: health_drop_card(t, worst(ACCOUNT_NAME), worst_drop(), TODAY.isoformat(), TAB_URL),
        )
    },
    OutboxKind.KPI_MONTHLY: {
        "manager": Case(manager_kpi_card, lambda t: manager_kpi_card(t, "2026-12", account_figures())),
        "head": Case(head_kpi_card, head_card),
    },
    OutboxKind.FORM_REQUESTED: {
        name: Case(build, lambda t, build=build: build(t, form_context(), TODAY, None, None))
        for name, build in NEW_FORMS.items()
    },
}


def many_criteria() -> Selection:
    """As many criteria as the selection file may name, each with the longest name."""
    criteria = tuple(
        Criterion(f"c{i}", 100.0, {"en": worst(SELECTION_NAME_MAX), "de": worst(SELECTION_NAME_MAX)})
        for i in range(CRITERIA_MAX)
    )
    return Selection(criteria=criteria)


def scores_with_errors() -> FormState:
    keys = [c.key for c in many_criteria().criteria]
    return FormState(dict.fromkeys(keys, "9" * 20), errors(*keys))


def candidate_state() -> FormState:
    state = scores_with_errors()
    values = {"name": worst(CANDIDATE_NAME_MAX), "kind": "win_back", "notes": worst(CANDIDATE_NOTES_MAX)}
    return FormState(state.values | values, state.errors | errors("name", "kind"))


def _rules_card(t: Texts, *, editable: bool, state: FormState | None = None) -> dict[str, Any]:
    rules, functions = rules_in_force()
    unfilled = [f"function:{f}" for f in functions]
    return rules_card(
        t,
        account_id=BIG_ID,
        account_name=worst(ACCOUNT_NAME),
        rules=rules,
        functions=functions,
        unfilled=unfilled,
        editable=editable,
        today=TODAY,
        state=state,
        card_id="c" * 32,
        saved=True,
    )


def _rules_errors() -> FormState:
    names = [*(f"inform:{a}" for a in ABOUTS), *(f"decide:{c.value}" for c in DecisionCategory)]
    hours = ("remind_after_hours", "report_after_hours")
    return FormState(
        {name: "manager,admin,team" for name in names} | dict.fromkeys(hours, "9" * 20), errors(*names, *hours)
    )


REPLY_CASES: dict[str, Case] = {
    "welcome": Case(welcome_card, welcome_card),
    "list review decisions": Case(
        decide_card,
        lambda t: decide_card(t, BIG_ID, proposal_lines(), TODAY, decide_state(), "e" * 32, done=worst(200)),
    ),
    "score form": Case(
        score_card,
        lambda t: score_card(t, many_criteria(), BIG_ID, worst(ACCOUNT_NAME), TODAY, scores_with_errors(), "s" * 32),
    ),
    "scores saved": Case(
        scored_card, lambda t: scored_card(t, worst(ACCOUNT_NAME), 5.0, Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT)
    ),
    "candidate form": Case(
        candidate_card,
        lambda t: candidate_card(t, many_criteria(), TODAY, candidate_state(), "k" * 32),
    ),
    "help": Case(help_card, help_card),
    "accounts": Case(
        accounts_card,
        lambda t: accounts_card(t, [AccountLine(worst(ACCOUNT_NAME), Tier.KEY_ACCOUNT, Role.MANAGER)] * MANY, MANY),
    ),
    "account picker": Case(
        account_picker_card,
        lambda t: account_picker_card(
            t,
            [Option(BIG_ID - i, worst(ACCOUNT_NAME)) for i in range(MANY)],
            TODAY,
            worst(120),
            carry=carried(
                {
                    "summary": worst(CONTACT_FIELDS["summary"]),
                    "customer_people": worst(CONTACT_FIELDS["customer_people"]),
                    "met_on": TODAY.isoformat(),
                    "participants": chosen(),
                }
            ),
            card_id="a" * 32,
        ),
    ),
    "contact form": Case(
        contact_form_card, lambda t: contact_form_card(t, form_context(), TODAY, contact_state(), "f" * 32)
    ),
    "contact form in a dialog": Case(
        contact_form_card, lambda t: for_dialog(contact_form_card(t, form_context(), TODAY, contact_state()))
    ),
    "contact logged": Case(
        logged_card,
        lambda t: logged_card(t, contact_view(), shown_to_channel=False, attention=attention(ItemKind.CONTACT)),
    ),
    "decision form": Case(
        decision_form_card, lambda t: decision_form_card(t, form_context(), TODAY, decision_state(), "d" * 32)
    ),
    "decision logged": Case(
        decision_logged_card, lambda t: decision_logged_card(t, decision_view(), attention(ItemKind.DECISION))
    ),
    "new account form": Case(
        new_account_card,
        lambda t: new_account_card(
            t,
            TODAY,
            FormState(
                {"name": worst(NAME_MAX), "customer_domains": worst(LIST_MAX), "countries": worst(LIST_MAX)},
                errors("name", "tier", "customer_domains", "countries"),
            ),
            "e" * 32,
        ),
    ),
    "account created": Case(
        account_created_card, lambda t: account_created_card(t, worst(NAME_MAX), Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT)
    ),
    "account found by search": Case(
        account_summary_card,
        lambda t: account_summary_card(
            t,
            AccountSummary(
                worst(ACCOUNT_NAME), Tier.KEY_ACCOUNT, people(), BIG_ID, BIG_ID, TODAY.isoformat(), worst_health()
            ),
        ),
    ),
    "stakeholder form": Case(
        stakeholder_form_card, lambda t: stakeholder_form_card(t, form_context(), TODAY, stakeholder_state(), "b" * 32)
    ),
    "stakeholder edit form": Case(
        stakeholder_form_card,
        lambda t: stakeholder_form_card(t, form_context(), TODAY, stakeholder_state(), "b" * 32, editing=BIG_ID),
    ),
    "stakeholder added": Case(
        stakeholder_added_card, lambda t: stakeholder_added_card(t, worst(ACCOUNT_NAME), worst(STAKEHOLDER_NAME))
    ),
    "stakeholder saved": Case(
        stakeholder_added_card,
        lambda t: stakeholder_added_card(t, worst(ACCOUNT_NAME), worst(STAKEHOLDER_NAME), edited=True),
    ),
    "relationship strength": Case(
        strength_card,
        lambda t: strength_card(
            t,
            StrengthForm(
                BIG_ID,
                worst(ACCOUNT_NAME),
                BIG_ID,
                worst(STAKEHOLDER_NAME),
                [Option(BIG_ID - i, worst(PERSON_NAME)) for i in range(MANY)],
                BIG_ID - MANY + 1,
                90,
            ),
            TODAY,
            "c" * 32,
        ),
    ),
    "relationship strength saved": Case(
        strength_saved_card, lambda t: strength_saved_card(t, worst(STAKEHOLDER_NAME), worst(PERSON_NAME), 30)
    ),
    "relationship map": Case(
        relationship_map_card,
        lambda t: relationship_map_card(
            t,
            worst(ACCOUNT_NAME),
            "n:n",
            [
                StakeholderLine(
                    worst(STAKEHOLDER_NAME),
                    worst(200),
                    StakeholderLevel.MANAGEMENT,
                    Attitude.SUPPORTER,
                    worst(PERSON_NAME),
                    TODAY if i % 2 else None,
                    tuple(people(20)),
                    covered=bool(i % 3),
                )
                for i in range(MANY)
            ],
            TAB_URL,
        ),
    ),
    "timeline": Case(
        timeline_card,
        lambda t: timeline_card(
            t, BIG_ID, worst(ACCOUNT_NAME), timeline_items(), offset=5, total=BIG_ID, today=TODAY, log_url=TAB_URL
        ),
    ),
    "rules, read": Case(rules_card, lambda t: _rules_card(t, editable=False)),
    "rules, editor": Case(rules_card, lambda t: _rules_card(t, editable=True)),
    "rules, editor with errors": Case(rules_card, lambda t: _rules_card(t, editable=True, state=_rules_errors())),
    "price action form": Case(
        price_action_form_card,
        lambda t: price_action_form_card(
            t,
            TODAY,
            FormState(
                {
                    "title": worst(PRICE_TITLE_MAX),
                    "countries": worst(COUNTRIES_MAX),
                    "description": worst(PRICE_TEXT_MAX),
                },
                errors("title", "countries", "description", "starts_on", "ends_on"),
            ),
            "a" * 32,
        ),
    ),
    "price action logged": Case(
        price_action_logged_card,
        lambda t: price_action_logged_card(t, price_view(), [worst(ACCOUNT_NAME)] * MANY, BIG_ID),
    ),
    "review start": Case(
        review_start_card,
        lambda t: review_start_card(
            t, BIG_ID, worst(ACCOUNT_NAME), TODAY, FormState({"due_on": "x"}, errors("due_on")), "d" * 32
        ),
    ),
    "review, the manager's who owns every item": Case(
        review_card,
        lambda t: review_card(
            t,
            review_view(viewer_owns=True),
            viewer_id=5,
            viewer_is_manager=True,
            refresh_user_ids=[worst_id(i) for i in range(MANY)],
            banner=worst(200),
            plan_url=TAB_URL,
        ),
    ),
    "review summary": Case(
        review_summary_card, lambda t: review_summary_card(t, worst(ACCOUNT_NAME), BIG_ID, review_summary(), TAB_URL)
    ),
    "meeting dismissed": Case(meeting_dismissed_card, lambda t: meeting_dismissed_card(t, worst(SUBJECT_MAX))),
}

CASES: dict[str, Case] = {
    **{f"{kind.value}: {name}": case for kind, cases in OUTBOX_CASES.items() for name, case in cases.items()},
    **{f"reply: {name}": case for name, case in REPLY_CASES.items()},
}
LANGUAGES = ("en", "de")


def card_builders() -> set[Callable[..., dict[str, Any]]]:
    """Every function in cards/ that builds a whole card (the `*_card` functions, not the shared `card*` helpers)."""
    found = set()
    for module_info in pkgutil.iter_modules(cards.__path__):
        module = importlib.import_module(f"cards.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and name.endswith("_card") and not name.startswith("card"):
                found.add(function)
    return found


# Outbox kinds that send no card: an activity feed notification is a few fields, its preview held to what Teams
# shows (below) and its link under the 1,900 characters Teams opens (bot/outbox/notifications.py).
NOT_CARDS = {OutboxKind.FEED_NOTIFICATION}


def test_every_outbox_kind_has_a_size_case() -> None:
    assert set(OUTBOX_CASES) | NOT_CARDS == set(RENDERERS) == set(OutboxKind)


TEAMS_SHOWS = 150  # characters of an activity feed notification's preview (Microsoft's feed notification pages)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_feed_notifications_preview_at_its_longest_is_what_teams_shows(language: str) -> None:
    t = Texts(language)
    reasons = [f"rule:{about}" for about in ABOUTS] + ["needs_confirmation", "paid_service", "price_risk"]
    text = acknowledge_text(t, worst(ACCOUNT_NAME), ItemKind.PRICE_ACTION, reasons, reminder=True)
    assert len(text.preview) == TEAMS_SHOWS and text.preview.endswith("…")
    assert text.topic == worst(ACCOUNT_NAME), "the account's name whole: it is the topic, not the preview"


def test_every_card_cards_can_build_has_a_size_case() -> None:
    missing = {f.__qualname__ for f in card_builders()} - {case.builder.__qualname__ for case in CASES.values()}
    assert not missing, f"cards without a size case: {sorted(missing)}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_card_at_its_largest_stays_under_80_kb(name: str, language: str) -> None:
    size = activity_size(CASES[name].build(Texts(language)))
    assert size < BUDGET, f"{name} ({language}): {size / 1024:.1f} KB of UTF-16"


def test_every_card_at_its_largest_still_parses_and_validates() -> None:
    assert_valid_cards([case.build(Texts(language)) for case in CASES.values() for language in LANGUAGES])


def test_the_measure_counts_utf16_code_units_and_json_escapes_and_can_fail() -> None:
    assert utf16_size({"a": "💥"}) == 2 * len('{"a":""}') + 4
    assert utf16_size({"a": '"'}) == 2 * len('{"a":""}') + 4
    assert utf16_size({"a": "ä"}) == 2 * len('{"a":""}') + 2
    assert len(worst(2000)) == 2000 and utf16_size(worst(2000)) == 2 * 2 + 2000 * 4
    too_long = replace(contact_view(), summary=worst(30_000))
    assert activity_size(channel_summary_card(Texts("en"), too_long, [])) > MESSAGE_SIZE_LIMIT > BUDGET


def test_a_shortened_text_ends_in_an_ellipsis_between_two_characters() -> None:
    assert shorten("Dr. Hanna Berger", 40) == "Dr. Hanna Berger"
    assert shorten("💥" * 50, 10) == "💥" * 9 + "…"
    assert shorten("Ame\u0301lie Poulain", 4) == "Am…", "a letter keeps its accent or goes with it"
    assert shorten("abc   def", 5) == "abc…"


def test_saving_the_rules_keeps_the_functions_the_editor_could_not_offer() -> None:
    t = Texts("en")
    rules, functions = rules_in_force()
    editor = _rules_card(t, editable=True)
    data = editor["actions"][0]["data"]
    offered = data["targets"]
    inputs = {e["id"]: e.get("value") or "" for e in editor["body"] if e.get("type") == "Input.ChoiceSet"}
    submitted = data | inputs | {"inform:contact": str(offered.index("manager")), "remind_after_hours": "24"}
    parsed = parse_rules_submission(t, submitted | {"report_after_hours": "24"}, rules)
    assert isinstance(parsed, RuleSet)
    not_offered = [f"function:{f.lower()}" for f in functions if f"function:{f.lower()}" not in offered]
    assert len(offered) < len(rules.inform["contact"].inform) and not_offered
    assert parsed.inform["contact"].inform == ("manager", *not_offered), "the choice made, and what was not offered"
    assert parsed.decide[DecisionCategory.PRICING].who == rules.decide[DecisionCategory.PRICING].who


def test_a_link_to_a_tab_needs_the_apps_id_and_the_accounts_channel() -> None:
    assert TAB_URL is not None and TAB_URL.startswith(f"https://teams.microsoft.com/l/entity/{uuid.UUID(int=0)}/")
    assert TabLinks("", "https://kambot.example").to(LONGEST_ACCOUNT, "log") is None
    assert TabLinks("app", "https://kambot.example").to(Account(id=1, name="x"), "log") is None
