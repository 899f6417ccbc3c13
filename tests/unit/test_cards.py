"""Every card the bot can send parses and validates cleanly in Microsoft's adaptivecards library."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cards.account import account_created_card, new_account_card
from cards.ack_batch import BatchItem, ack_batch_card
from cards.acknowledge import AckEntry, Attention, EndableAgreement, FlagView
from cards.brief import AttendeeLine, BriefView, CommitmentLine, ConflictLine, meeting_brief_card
from cards.build import Recipient
from cards.contact import ContactView, channel_summary_card, contact_form_card, logged_card
from cards.decision import DecisionView, channel_decision_card, decision_form_card, decision_logged_card
from cards.forms import FormContext, FormState, Option, account_picker_card
from cards.general import (
    UNFURL_VERSION,
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
from cards.i18n import Texts
from cards.nudge import MeetingView, meeting_dismissed_card, meeting_nudge_card
from cards.price_action import PriceActionView, price_action_form_card, price_action_logged_card, price_risk_card
from cards.review import (
    ReviewLine,
    ReviewView,
    review_card,
    review_due_card,
    review_start_card,
    review_summary_card,
)
from cards.rules import rules_card
from cards.stakeholders import (
    StakeholderLine,
    relationship_map_card,
    stakeholder_added_card,
    stakeholder_form_card,
)
from cards.timeline import TimelineItem, timeline_card
from kam.models import (
    Account,
    Attitude,
    BuyingRole,
    ContactKind,
    DecisionCategory,
    FlagKind,
    ItemKind,
    Role,
    StakeholderLevel,
    Tier,
)
from kam.rules import Rules
from tests.support.cards_judge import assert_valid_cards, card_problems

TODAY = dt.date(2026, 11, 22)
NASTY = "Ärger & <b>bold</b> [link](https://x.example) <at>all</at> \u202e 💥 " + "x" * 1500


def every_card() -> list[dict[str, Any]]:
    t = Texts("de-DE")
    form = FormContext(
        7, "Contoso <Pharma> & Söhne", [Option(1, "Dr. Hanna Berger (Head of Procurement)")], [Option(2, NASTY[:40])]
    )
    empty_form = FormContext(8, "Fabrikam", [], [])
    view = ContactView(
        "Contoso",
        ContactKind.VISIT,
        TODAY,
        "Alex Wilber",
        ["Hanna", NASTY],
        NASTY[:500],
        ["Megan"],
        NASTY,
        NASTY,
        NASTY,
        NASTY,
        False,
    )
    errors = FormState(
        values={"summary": NASTY, "met_on": "garbage", "kind": "lunch", "stakeholders": "1", "confidential": "true"},
        errors={
            name: "bad" for name in ("summary", "met_on", "kind", "stakeholders", "customer_people", "participants")
        },
    )
    decision = DecisionView(
        "Contoso",
        NASTY[:200],
        DecisionCategory.CONTRACT,
        NASTY,
        NASTY,
        "Megan",
        TODAY,
        NASTY[:500],
        "Alex",
        TODAY,
        "Alex",
    )
    return [
        welcome_card(t),
        help_card(t),
        accounts_card(t, [AccountLine(NASTY[:80], tier, Role.MANAGER) for tier in Tier]),
        accounts_card(t, []),
        account_picker_card(t, [Option(1, "Contoso"), Option(2, NASTY[:60])], TODAY),
        account_picker_card(t, [Option(1, "Contoso")], TODAY, error="Choose an account."),
        contact_form_card(t, form, TODAY),
        contact_form_card(t, empty_form, TODAY),
        contact_form_card(t, form, TODAY, errors, "f" * 32),
        logged_card(t, view, shown_to_channel=False),
        channel_summary_card(t, view, [Recipient("user-id-1", "Megan Bowen"), Recipient("29:x", "O'Brien <Admin>")]),
        channel_summary_card(t, ContactView(**{**view.__dict__, "confidential": True}), []),
        new_account_card(t, TODAY),
        new_account_card(
            t,
            TODAY,
            FormState(
                values={"name": NASTY[:200], "tier": "x"}, errors={"name": "bad", "tier": "bad", "countries": "bad"}
            ),
            "e" * 32,
        ),
        account_created_card(t, NASTY[:200], Tier.STRATEGIC_KEY_ACCOUNT),
        channel_welcome_card(t, NASTY[:200], ["Megan Bowen", NASTY[:30]]),
        channel_welcome_card(t, "Fabrikam", []),
        decision_form_card(t, form, TODAY),
        decision_form_card(
            t,
            empty_form,
            TODAY,
            FormState(
                values={"title": NASTY[:200]},
                errors={"title": "bad", "category": "bad", "effective_on": "bad", "communicator": "bad"},
            ),
            "d" * 32,
        ),
        decision_logged_card(t, decision),
        decision_logged_card(t, DecisionView(**{**decision.__dict__, "needs_confirmation": True})),
        channel_decision_card(t, decision, [Recipient("user-id-1", "Megan Bowen")]),
        channel_decision_card(t, DecisionView(**{**decision.__dict__, "communicator": "", "scope": ""}), []),
        timeline_card(t, 7, NASTY[:200], [], offset=0, total=0, today=TODAY),
        timeline_card(
            t,
            7,
            "Contoso",
            [
                TimelineItem("contact", TODAY, "Call", NASTY[:300], NASTY, "Alex"),
                TimelineItem("decision", TODAY, "Pricing", NASTY[:200], "", "Megan"),
            ],
            offset=5,
            total=12,
            today=TODAY,
        ),
        account_summary_card(
            t, AccountSummary(NASTY[:200], Tier.KEY_ACCOUNT, ["Megan", NASTY[:30]], 3, 1, "2026-11-20")
        ),
        account_summary_card(t, AccountSummary("Fabrikam", Tier.KEY_ACCOUNT, [], 0, 0, "")),
        account_summary_card(  # as a pasted link unfurls it, judged as 1.3
            t, AccountSummary(NASTY[:200], Tier.KEY_ACCOUNT, [NASTY[:30]], 3, 1, "2026-11-20"), version=UNFURL_VERSION
        ),
        stakeholder_form_card(t, form, TODAY),
        stakeholder_form_card(
            t,
            empty_form,
            TODAY,
            FormState(
                values={"name": NASTY[:200], "level": "x"}, errors={"name": "bad", "level": "bad", "owner": "bad"}
            ),
            "b" * 32,
        ),
        stakeholder_added_card(t, NASTY[:200], NASTY[:200]),
        relationship_map_card(t, "Contoso", "n:n", []),
        relationship_map_card(
            t,
            NASTY[:100],
            "1:1",
            [
                StakeholderLine(
                    NASTY[:200], "CFO", StakeholderLevel.EXECUTIVE, Attitude.NON_SUPPORTER, "Megan", TODAY, ("Alex",), True
                ),
                StakeholderLine("Tom", "", None, None, "", None, (), False),
            ],
        ),
        *acknowledgement_cards(t, view, decision),
    ]


def acknowledgement_cards(t: Texts, view: ContactView, decision: DecisionView) -> list[dict[str, Any]]:
    """What the rules, the checks and the acknowledgements add, with hostile text wherever a user can type."""
    flags = [
        FlagView(i + 1, kind, NASTY[:300], NASTY[:40], TODAY, True, NASTY[:40], TODAY, NASTY[:300], later)
        for i, kind in enumerate(FlagKind)
        for later in (False, True)
        if not later or kind in (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK)
    ]
    people = [
        AckEntry(NASTY[:60], TODAY, True),
        AckEntry("Patti", None, True),
        AckEntry("Adele", TODAY, False),
        AckEntry("Lynne", None, True, unreachable=True),
    ]
    crowd = [f"29:user-{i}" for i in range(80)]
    asked = Attention(
        ItemKind.DECISION,
        3,
        7,
        people,
        flags,
        crowd,
        ["rule:decision.pricing", "needs_confirmation", "price_risk"],
        viewer_may_end=(EndableAgreement(1, NASTY[:300], TODAY), EndableAgreement(2, NASTY[:300], None)),
        banner=t("ack.overdue", names=NASTY[:100]),
    )
    done = Attention(ItemKind.CONTACT, 4, 7, people, [], ["29:a"], [], TODAY)
    nobody = Attention(ItemKind.CONTACT, 5, 7)
    rules = Rules().for_account(Account(name="x", tier=Tier.STRATEGIC_KEY_ACCOUNT))
    bad_rules = FormState(
        values={"inform:contact": "manager,function:" + NASTY[:40], "remind_after_hours": "soon"},
        errors={"inform:contact": "bad", "remind_after_hours": "bad", "decide:pricing": "bad"},
    )
    price = PriceActionView(NASTY[:200], ["DE", "AT"], NASTY, TODAY, None, NASTY[:40])
    price_errors = FormState(
        values={"title": NASTY[:200], "countries": "Germany"},
        errors={n: "bad" for n in ("title", "countries", "ends_on")},
    )
    kwargs = dict(account_id=7, account_name=NASTY[:200], rules=rules, unfilled=["function:finance"], today=TODAY)
    return [
        channel_decision_card(t, decision, [Recipient("user-id-1", "Megan")], asked),
        channel_decision_card(t, decision, [], asked, shown_to_channel=False),
        channel_summary_card(t, view, [], done, shown_to_channel=False),
        channel_summary_card(t, view, [], nobody),
        logged_card(t, view, shown_to_channel=True, attention=asked),
        decision_logged_card(t, decision, nobody),
        rules_card(t, functions=["sales", NASTY[:40]], editable=True, **kwargs),  # type: ignore[arg-type]
        rules_card(t, functions=[], editable=True, state=bad_rules, card_id="c" * 32, **kwargs),  # type: ignore[arg-type]
        rules_card(t, functions=[], editable=False, saved=True, **kwargs),  # type: ignore[arg-type]
        price_action_form_card(t, TODAY),
        price_action_form_card(t, TODAY, price_errors, "a" * 32),
        price_action_logged_card(t, price, [NASTY[:200], "Contoso"]),
        price_action_logged_card(t, price, []),
        price_risk_card(t, NASTY[:200], price, asked),
        *review_cards(t),
        *batch_cards(t),
    ]


def batch_cards(t: Texts) -> list[dict[str, Any]]:
    """Several requests on one card: open, acknowledged, a confidential contact's details hidden, more than it holds."""
    reasons = ["rule:decision.pricing", "needs_confirmation", "paid_service"]
    items = [
        BatchItem(7, NASTY[:200], ItemKind.DECISION, 3, NASTY, NASTY, False, reasons),
        BatchItem(7, "Contoso", ItemKind.CONTACT, 4, "Visit on 2026-11-22, logged by Alex", "", True, ["rule:contact"]),
        BatchItem(8, NASTY[:60], ItemKind.PRICE_ACTION, 5, NASTY[:200], "", False, ["price_risk"], TODAY),
    ]
    done = [BatchItem(7, "Contoso", ItemKind.DECISION, 3, "Saturday deliveries", "", False, [], TODAY)] * 2
    return [
        ack_batch_card(t, 12, items, refresh_user_id="29:megan"),
        ack_batch_card(t, 12, items * 5),
        ack_batch_card(t, 12, done, refresh_user_id="29:megan"),
        ack_batch_card(t, 12, []),
    ]


def review_cards(t: Texts) -> list[dict[str, Any]]:
    lines = [
        ReviewLine("a" * 32, NASTY[:200], NASTY[:40], 5, "blocked", 20, NASTY[:1000], True, True),
        ReviewLine("b" * 32, "Offer", "Adele", 6, "open", 0, "", False, False),
    ]
    view = ReviewView(3, 7, NASTY[:200], NASTY[:40], TODAY, False, lines, [NASTY[:40]], ["Adele"])
    entry = {"title": NASTY[:200], "owner": "Adele", "status": "done", "progress": 100, "comment": NASTY[:300]}
    summary = {"changed": [entry], "late": [entry | {"due_on": "2026-01-01"}], "decisions": [], "silent": [entry]}
    crowd = [f"29:u-{i}" for i in range(70)]
    moment = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    return [
        review_start_card(t, 7, NASTY[:200], TODAY),
        review_start_card(
            t, 7, "Contoso", TODAY, FormState(values={"due_on": "x"}, errors={"due_on": "bad"}), "d" * 32
        ),
        review_card(t, view, viewer_id=5, viewer_is_manager=True, refresh_user_ids=crowd, banner=NASTY[:100]),
        review_card(t, view, viewer_id=None, viewer_is_manager=False, refresh_user_ids=[]),
        review_card(
            t,
            ReviewView(**{**view.__dict__, "closed": True}),
            viewer_id=5,
            viewer_is_manager=True,
            refresh_user_ids=crowd,
        ),
        review_summary_card(t, NASTY[:200], 4, summary),
        review_due_card(t, NASTY[:200], "2026-08-01"),
        review_due_card(t, "Contoso", None),
        meeting_nudge_card(
            t, MeetingView(3, 7, NASTY[:200], NASTY[:255], moment, moment, [NASTY[:80]] * 9, [1, 2]), TODAY
        ),
        meeting_nudge_card(t, MeetingView(3, 7, "Contoso", "", moment, moment, ["Hanna"], []), TODAY),
        meeting_dismissed_card(t, NASTY[:255]),
        meeting_brief_card(t, brief_view(moment), "https://teams.microsoft.com/l/entity/x/log"),
        meeting_brief_card(t, BriefView("Contoso", "", moment, moment, [], 0, [], [], 0, [], 0)),
        delivery_failed_card(t, NASTY[:200], "contact.logged", NASTY[:300]),
        delivery_failed_card(t, "Contoso", "something.else", ""),
        delivery_failed_card(t, "Contoso", "channel.welcome", "HTTP 403: (BotNotInConversationRoster) The bot..."),
        members_missing_card(t, NASTY[:200], [NASTY[:200], "Lynne Robbins"]),
    ]


def brief_view(moment: dt.datetime) -> BriefView:
    """A brief with every section filled: a known and an unknown attendee, each kind of conflict, one hidden."""
    attendees = [
        AttendeeLine(NASTY[:200], True, NASTY[:200], BuyingRole.DECISION_MAKER, Attitude.NON_SUPPORTER, TODAY, NASTY[:200]),
        AttendeeLine("jonas.weber@contoso-pharma.example", False),
    ]
    recent = [
        TimelineItem("contact", TODAY, "Besuch", NASTY, NASTY, NASTY[:200]),
        TimelineItem("decision", TODAY, "Preise", NASTY[:200], NASTY, "Megan"),
    ]
    conflicts = [
        ConflictLine(FlagKind.FREE_AFTER_PAID, NASTY[:300], NASTY[:200], TODAY, "Alex", TODAY),
        ConflictLine(FlagKind.PARALLEL_FRAMEWORK, NASTY[:300], "Megan", TODAY, NASTY[:200], TODAY, topic_hidden=True),
        ConflictLine(FlagKind.PRICE_RISK, "DE, AT", "Patti", TODAY),
    ]
    commitments = [CommitmentLine(TODAY, NASTY, NASTY[:200])]
    return BriefView(NASTY[:200], NASTY[:255], moment, moment, attendees, 4, recent, commitments, 2, conflicts, 1)


def test_every_card_the_bot_can_send_has_no_parse_or_validation_events() -> None:
    assert_valid_cards(every_card())


def test_the_judge_does_catch_a_broken_card() -> None:
    broken = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "Input.Text", "id": "same"}, {"type": "Input.Text", "id": "same"}, {"type": "Bogus"}],
    }
    problems = card_problems([broken])[0]
    assert any("Bogus" in p or "Unknown" in p or "unknown" in p for p in problems), problems
    assert any("same" in p or "uplicate" in p for p in problems), problems
