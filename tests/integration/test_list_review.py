"""The key account list review over HTTP: KA managers score their accounts, the head of KAM records a candidate and
starts the review, a KA manager comments on their account's proposal on the card they get, the head of KAM decides
on one card, and the account list changes. Each step's refusals: an outsider, a member, a KA manager on another's
account, forged proposal ids, a second decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import SERVICES
from cards.i18n import Texts
from kam.kpi_cards import schedule_kpi_cards
from kam.list_reviews import schedule_list_review_due
from kam.models import Account, Candidate, CompanyFigures, ListReview, ListReviewProposal, ResultFigures, Role, Tier
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import action_data, chat_cards, invoke_card, invoke_message, last_card, texts_in
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, USERS

T = Texts("en")
ALL_FIVE = (
    "customer_complexity",
    "strategic_importance",
    "international_organisation",
    "addressable_potential",
    "customers_customers",
)


@pytest.fixture
async def bot(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The demo portfolio, with Isaiah as the head of KAM."""
    await migrate_and_seed(sqlite_url)
    running = await RunningBot(
        local_settings(sqlite_url, head_of_kam_aad_ids=[USERS["isaiah"].aad_object_id]), connector
    ).start()
    yield running
    await running.stop()


def scores(value: int) -> dict[str, str]:
    return {key: str(value) for key in ALL_FIVE}


def said(bot: RunningBot, user: str) -> str:
    return str(bot.connector.in_conversation(f"a:personal-{user}")[-1].activity.get("text") or "")


async def type_in_chat(bot: RunningBot, user: str, text: str) -> dict[str, Any] | None:
    """What the bot answered in the user's 1:1 chat: its last card, or None when it only said something."""
    before = len(bot.connector.in_conversation(f"a:personal-{user}"))
    await bot.send(bot.teams.message(text, user=user))
    new = bot.connector.in_conversation(f"a:personal-{user}")[before:]
    cards = [r.cards[0] for r in new if r.cards]
    return cards[-1] if cards else None


def button_data(card: dict[str, Any], name: str) -> dict[str, Any]:
    """The data of the comment button under the proposal about `name` (each proposal has its own button)."""
    body = card["body"]
    for index, element in enumerate(body):
        if element.get("type") == "Container" and name in texts_in(element):
            for later in body[index + 1 :]:
                if later.get("type") == "ActionSet":
                    return dict(later["actions"][0]["data"])
    raise AssertionError(f"no proposal about {name}: {texts_in(card)}")


async def score(bot: RunningBot, user: str, account: str, values: dict[str, str]) -> dict[str, Any]:
    form = await type_in_chat(bot, user, f"score {account}")
    assert form is not None, said(bot, user)
    return invoke_card(await bot.send(bot.teams.execute(action_data(form) | values, user=user)))


async def test_the_list_review_from_the_scores_to_the_changed_account_list(bot: RunningBot) -> None:
    cards: list[dict[str, Any]] = []

    # Megan scores Contoso; a score out of range brings the form back with what she typed.
    form = await type_in_chat(bot, "megan", "score contoso")
    assert form is not None and "Scores of Contoso Pharma" in texts_in(form)
    wrong = invoke_card(
        await bot.send(bot.teams.execute(action_data(form) | scores(5) | {"strategic_importance": "9"}, user="megan"))
    )
    assert T("selection.score_range") in texts_in(wrong)
    assert {e["id"]: e.get("value") for e in wrong["body"] if e.get("id")}["customer_complexity"] == 5
    saved = invoke_card(await bot.send(bot.teams.execute(action_data(form) | scores(5), user="megan")))
    assert "Weighted score 5.00: that earns Corporate Strategic Key Account." in texts_in(saved)
    # Alex scores Fabrikam low; a member does not score the account he is only on.
    cards += [form, wrong, saved, await score(bot, "alex", "fabrikam", scores(1))]
    await type_in_chat(bot, "isaiah", "score fabrikam")  # the head of KAM may score any account
    assert "Scores of Fabrikam Logistics" in texts_in(last_card(bot.connector, "a:personal-isaiah")[0])
    assert await type_in_chat(bot, "adele", "score contoso") is None
    assert said(bot, "adele") == T("error.not_allowed.record_candidate")
    assert await type_in_chat(bot, "lynne", "score contoso") is None  # on no team: told what it takes, no more
    assert said(bot, "lynne") == T("error.not_allowed.record_candidate")

    # The head of KAM records a candidate; a second of the same name is refused on the form, nothing lost.
    form = await type_in_chat(bot, "isaiah", "candidate")
    assert form is not None
    entry = {"name": "Northwind Traders", "kind": "acquisition", "notes": "Tender for 2027"} | scores(4)
    cards += [form, invoke_card(await bot.send(bot.teams.execute(action_data(form) | entry, user="isaiah")))]
    again = invoke_card(await bot.send(bot.teams.execute(action_data(form) | entry, user="isaiah")))
    assert T("candidate.error.exists") in texts_in(again) and "Tender for 2027" in texts_in(again)
    assert await type_in_chat(bot, "lynne", "candidate") is None
    assert said(bot, "lynne") == T("error.not_allowed.record_candidate")

    # Only the head of KAM starts a review, and only in a 1:1 chat.
    assert await type_in_chat(bot, "megan", "list review") is None
    assert said(bot, "megan") == T("error.not_allowed.run_list_review")
    assert await type_in_chat(bot, "lynne", "list review") is None
    assert said(bot, "lynne") == T("error.not_allowed.run_list_review")
    await bot.send(bot.teams.message("list review", user="isaiah", where=CONTOSO_CHANNEL))
    assert T("listreview.private_only") in str(bot.connector.recorded[-1].activity.get("text"))

    decide_card = await type_in_chat(bot, "isaiah", "list review")
    assert decide_card is not None
    assert "3 proposals; the KA managers of 2 accounts are asked" in " ".join(
        str(r.activity.get("text") or "") for r in bot.connector.in_conversation("a:personal-isaiah")[-2:]
    )
    text = texts_in(decide_card)
    assert "Proposed: from Strategic Key Account to Corporate Strategic Key Account (score 5.00)." in text
    assert "Proposed: leave the list (score 1.00, now Key Account)." in text
    assert "Proposed: enter the list as Strategic Key Account (score 4.00)." in text
    cards.append(decide_card)

    # Each KA manager gets a card with their own accounts' proposals.
    await bot.settle()
    megan_card = next(c for c in chat_cards(bot.connector, "megan") if "your accounts" in texts_in(c))
    assert "Contoso Pharma" in texts_in(megan_card) and "Fabrikam" not in texts_in(megan_card)
    alex_card = next(c for c in chat_cards(bot.connector, "alex") if "your accounts" in texts_in(c))
    assert "Fabrikam Logistics" in texts_in(alex_card) and "Contoso" not in texts_in(alex_card)
    cards += [megan_card, alex_card]

    contoso = button_data(megan_card, "Contoso Pharma")
    fabrikam = button_data(alex_card, "Fabrikam Logistics")
    pid = contoso["proposal_id"]
    comment = {f"comment_{pid}": "Keep them: the 2027 tender is ours."}
    # Megan's card is hers; Alex (a member of Contoso) may not comment on it even with his own seal; a forged
    # pairing of Contoso's proposal with Fabrikam (whose KA manager he is) names nothing.
    assert invoke_message(await bot.send(bot.teams.execute(contoso | comment, user="alex"))) == T("error.not_your_form")
    resealed = bot.reseal(contoso | comment, "alex")
    assert invoke_message(await bot.send(bot.teams.execute(resealed, user="alex"))) == T(
        "error.not_allowed.comment_list_review"
    )
    forged = bot.reseal(contoso | comment | {"account_id": fabrikam["account_id"]}, "alex")
    assert invoke_message(await bot.send(bot.teams.execute(forged, user="alex"))) == T("error.refused")
    outsider = bot.reseal(contoso | comment, "lynne")
    assert invoke_message(await bot.send(bot.teams.execute(outsider, user="lynne"))) == T("error.refused")
    commented = invoke_card(await bot.send(bot.teams.execute(contoso | comment, user="megan")))
    assert "Your comment on Contoso Pharma is saved." in texts_in(commented)
    cards.append(commented)

    # The head of KAM sees the comment on the one card of decisions; an entry needs its KA manager.
    decide_card = await type_in_chat(bot, "isaiah", "list review")
    assert decide_card is not None and "Megan Bowen: Keep them: the 2027 tender is ours." in texts_in(decide_card)
    async with bot.db.transaction() as session:
        ids = {p.proposal: p.id for p in await session.scalars(select(ListReviewProposal))}
    choices = {
        f"decision_{ids['tier']}": "accept",
        f"tier_{ids['tier']}": Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT.value,
        f"decision_{ids['exit']}": "accept",
        f"decision_{ids['enter']}": "accept",
        f"tier_{ids['enter']}": Tier.STRATEGIC_KEY_ACCOUNT.value,
    }
    missing = invoke_card(await bot.send(bot.teams.execute(action_data(decide_card) | choices, user="isaiah")))
    assert T("listreview.decide.manager_needed") in texts_in(missing)
    async with bot.db.transaction() as session:
        assert (await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))).tier == (  # type: ignore[union-attr]
            Tier.STRATEGIC_KEY_ACCOUNT
        )
    assert invoke_message(await bot.send(bot.teams.execute(action_data(decide_card) | choices, user="megan"))) == T(
        "error.not_your_form"
    )
    choices[f"manager_{ids['enter']}"] = USERS["adele"].upn
    done = invoke_card(await bot.send(bot.teams.execute(action_data(decide_card) | choices, user="isaiah")))
    assert "3 accepted, 0 rejected. Every proposal is decided" in texts_in(done)
    cards += [missing, done]

    # The account list changed, and the review keeps what was proposed, said and decided.
    async with bot.db.transaction() as session:
        accounts = {a.name: a for a in await session.scalars(select(Account))}
        assert accounts["Contoso Pharma"].tier == Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT
        assert accounts["Fabrikam Logistics"].active is False
        northwind = accounts["Northwind Traders"]
        assert northwind.active and northwind.tier == Tier.STRATEGIC_KEY_ACCOUNT and northwind.channel_id is None
        members = await session.run_sync(lambda _: [(m.person.upn, m.role) for m in northwind.members])
        assert members == [(USERS["adele"].upn, Role.MANAGER)]
        candidate = await session.scalar(select(Candidate))
        assert candidate is not None and candidate.status == "entered"
        review = await session.scalar(select(ListReview))
        assert review is not None and review.decided_at is not None
        kept = {p.proposal: (p.decision, p.comment) for p in review.proposals}
        assert kept["tier"] == ("accepted", "Keep them: the 2027 tender is ours.")
        assert kept["exit"] == ("accepted", None)

    # A second decision, and a comment after it, change nothing.
    assert invoke_message(await bot.send(bot.teams.execute(action_data(decide_card) | choices, user="isaiah"))) == T(
        "listreview.error.decided"
    )
    assert invoke_message(await bot.send(bot.teams.execute(contoso | comment, user="megan"))) == T("error.refused")
    assert_valid_cards(cards)


async def test_a_list_review_due_is_told_to_the_head_of_kam_once(bot: RunningBot) -> None:
    heads = [USERS["isaiah"].aad_object_id]
    await type_in_chat(bot, "isaiah", "help")  # kambot knows Isaiah's chat
    later = dt.date.today() + dt.timedelta(days=100)
    async with bot.db.transaction() as session:
        assert await schedule_list_review_due(session, heads, 91, dt.date.today()) == 0  # not due yet
        assert await schedule_list_review_due(session, heads, 91, later) == 1
        assert await schedule_list_review_due(session, heads, 91, later) == 0  # once
    assert bot.app is not None
    bot.app[SERVICES].sender.kick()
    await bot.settle()
    due = [c for c in chat_cards(bot.connector, "isaiah") if T("listreview.due.title") in texts_in(c)]
    assert len(due) == 1 and T("listreview.due.start") in str(due[0])
    assert_valid_cards(due)


async def test_the_monthly_kpi_card_each_manager_their_accounts_the_head_of_kam_the_portfolio(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    await migrate_and_seed(sqlite_url)
    heads = [USERS["isaiah"].aad_object_id]
    settings = local_settings(
        sqlite_url, head_of_kam_aad_ids=heads, public_base_url="https://kambot.example", background_jobs=False
    )
    bot = await RunningBot(settings, connector).start()
    try:
        for user in ("isaiah", "megan", "alex"):
            await type_in_chat(bot, user, "help")  # kambot is installed in their chats
        today = dt.date.today()
        async with bot.db.transaction() as session:
            session.add_all(
                [
                    ResultFigures(account_id=1, year=today.year, revenue=900.0),
                    ResultFigures(account_id=2, year=today.year, revenue=100.0),
                    CompanyFigures(year=today.year, revenue=5000.0),
                ]
            )
        async with bot.db.transaction() as session:
            # Isaiah (head of KAM), Megan (Contoso's KA manager) and Alex (Fabrikam's); once a month.
            assert await schedule_kpi_cards(session, heads, today) == 3
        async with bot.db.transaction() as session:
            assert await schedule_kpi_cards(session, heads, today) == 0
        assert bot.app is not None
        bot.app[SERVICES].sender.kick()
        await bot.settle()
        month = today.strftime("%Y-%m")
        head = next(c for c in chat_cards(bot.connector, "isaiah") if month in texts_in(c))
        text = texts_in(head)
        assert "The key account portfolio in" in text and "2 key accounts." in text
        # 900 of 1,000: the largest account's share is beyond 15 %; key accounts are 1,000 of 5,000, under 30 %.
        assert "Largest account's share of revenue: 90%: beyond the threshold of 15%." in text
        assert "Herfindahl index: 0.82: beyond the threshold of 0.10." in text
        assert "Key accounts' share of the company's revenue: 20%: beyond the threshold of 30%." in text
        assert "https://kambot.example/tabs/portfolio" in str(head)
        megan = next(c for c in chat_cards(bot.connector, "megan") if month in texts_in(c))
        assert "Contoso Pharma" in texts_in(megan) and "Fabrikam" not in texts_in(megan)
        assert f"Revenue {today.year}: 900" in texts_in(megan)
        assert "https://kambot.example/tabs/insights?account=1" in str(megan)
        alex = next(c for c in chat_cards(bot.connector, "alex") if month in texts_in(c))
        assert "Fabrikam Logistics" in texts_in(alex) and "Contoso" not in texts_in(alex)
        assert_valid_cards([head, megan, alex])
    finally:
        await bot.stop()
