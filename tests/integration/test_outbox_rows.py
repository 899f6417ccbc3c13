"""What an item queues when it is logged, on both databases: its channel post and one 1:1 card per person asked.

The acknowledgements and the outbox rows are written by Core INSERTs (kam.storage.insert_rows),
the cards' subjects from the ids the first INSERT returned: each card names its own
acknowledgement and reaches that person, for every kind of item that asks.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kam.models import Acknowledgement, ItemKind, OutboxMessage
from kam.outbox import OutboxKind
from tests.support.flows import (
    DECISION,
    GOOD_INPUT,
    action_data,
    chat_cards,
    invoke_card,
    last_card,
    log_in_channel,
    seed_plan,
    start,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import USERS


@pytest.fixture
def bot(bot_on_both: RunningBot) -> RunningBot:
    return bot_on_both


async def queued_for(bot: RunningBot, kind: ItemKind, post: OutboxKind) -> tuple[list[int], dict[int, str], int]:
    """The item's channel posts (subjects), its acknowledgements (id → person) and the cards queued for them."""
    async with bot.db.transaction() as session:
        acks = list(await session.scalars(select(Acknowledgement).where(Acknowledgement.item_kind == kind)))
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    asked = {a.id: a.person.name for a in acks}
    cards = [r for r in rows if r.kind == OutboxKind.ACK_REQUEST and r.subject_id in asked]
    assert sorted(r.subject_id for r in cards) == sorted(asked), "one card per acknowledgement, naming it"
    return [r.subject_id for r in rows if r.kind == post], asked, len(cards)


def got_card(bot: RunningBot, name: str, text: str) -> bool:
    user = next(u for u, p in USERS.items() if p.name == name)
    return any(text in texts_in(c) for c in chat_cards(bot.connector, user))


async def test_a_contact_queues_its_post_and_a_card_for_each_person_asked(bot: RunningBot) -> None:
    await log_in_channel(bot, "log contact", GOOD_INPUT)
    posts, asked, cards = await queued_for(bot, ItemKind.CONTACT, OutboxKind.CONTACT_LOGGED)
    assert len(posts) == 1 and cards == len(asked) >= 1
    assert all(got_card(bot, name, "Walked the Leipzig plant") for name in asked.values())


async def test_a_decision_queues_its_post_and_a_card_for_each_person_asked(bot: RunningBot) -> None:
    await log_in_channel(bot, "log decision", DECISION)
    posts, asked, cards = await queued_for(bot, ItemKind.DECISION, OutboxKind.DECISION_LOGGED)
    assert len(posts) == 1 and cards == len(asked) >= 1
    assert all(got_card(bot, name, "Second service visit is paid") for name in asked.values())


async def test_a_review_queues_its_post_and_a_card_for_each_owner(bot: RunningBot) -> None:
    await seed_plan(bot)
    await start(bot, dt.date.today() + dt.timedelta(days=7))
    await bot.settle()
    posts, asked, cards = await queued_for(bot, ItemKind.REVIEW, OutboxKind.REVIEW_STARTED)
    assert len(posts) == 1 and sorted(asked.values()) == ["Adele Vance", "Patti Fernandez"] and cards == 2


async def test_a_price_action_queues_a_post_and_cards_for_each_account_at_risk(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log price action", user="patti"))
    form, _ = last_card(bot.connector, "a:personal-patti")
    good = {
        "title": "Autumn bargain: 15 % off all pumps",
        "countries": "de, fr",
        "starts_on": dt.date.today().isoformat(),
    }
    invoke_card(await bot.send(bot.teams.execute(action_data(form) | good, user="patti")))
    await bot.settle()
    posts, asked, cards = await queued_for(bot, ItemKind.PRICE_ACTION, OutboxKind.PRICE_RISK_POSTED)
    assert len(posts) == 1 and cards == len(asked) >= 1
    assert all(got_card(bot, name, "Global price risk") for name in asked.values())
