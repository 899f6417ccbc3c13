"""The demo portfolio as `make run` seeds it: a fresh start has a plan to review."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from kam.accounts import get_account
from kam.demo import seed_demo
from kam.plans import current_plan
from kam.storage import Database
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import action_data, chat_cards, invoke_card, last_card, start, texts_in
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL

CONTOSO = 1


@pytest.fixture
async def freshly_seeded(database_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """A new database, migrated and seeded with the demo as `kambot dev` does (no copy of another one)."""
    await migrate_and_seed(database_url, demo_plans=True)
    running = await RunningBot(local_settings(database_url), connector).start()
    yield running
    await running.stop()


async def test_on_a_fresh_start_the_ka_manager_reviews_the_demo_plan_and_its_three_owners_are_asked(
    freshly_seeded: RunningBot,
) -> None:
    bot = freshly_seeded
    started = await start(bot, dt.date.today() + dt.timedelta(days=7))
    assert "Plan review: Contoso Pharma" in texts_in(started)
    assert "Updated: 0 of 3 owners" in texts_in(started)
    assert "Waiting for Adele Vance, Alex Wilber, Patti Fernandez" in texts_in(started)
    await bot.settle()
    post = [r.cards[0] for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1]
    assert {"user-id-0", "user-id-2", "user-id-4"} <= set(post["refresh"]["userIds"])
    owners = {"alex": "Alex Wilber", "adele": "Adele Vance", "patti": "Patti Fernandez"}
    asked = {user: chat_cards(bot.connector, user)[-1] for user in owners}
    for user, name in owners.items():
        card = asked[user]
        assert "Your objectives and actions" in texts_in(card) and f"— {name} ·" in texts_in(card)
        assert "review.update" in {a.get("verb") for a in card["actions"]}
    assert_valid_cards([started, post, *asked.values()])


async def test_on_a_fresh_start_the_playgrounds_user_reviews_his_accounts_plan_from_his_chat(
    freshly_seeded: RunningBot,
) -> None:
    bot = freshly_seeded
    await bot.send(bot.teams.message("review plan"))  # Alex, as the Agents Playground's user
    form, _ = last_card(bot.connector, "a:personal-alex")
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    started = invoke_card(await bot.send(bot.teams.execute(action_data(form) | {"due_on": due})))
    assert "Plan review: Fabrikam Logistics" in texts_in(started)
    assert "Updated: 0 of 2 owners" in texts_in(started)
    await bot.settle()
    isaiahs = chat_cards(bot.connector, "isaiah")[-1]
    assert "Service contract for the Monterrey hub" in texts_in(isaiahs)


async def test_seeding_the_demo_again_keeps_the_plan_as_it_is(database_url: str) -> None:
    await migrate_and_seed(database_url, demo_plans=True)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            assert await seed_demo(session) == 0
        async with db.transaction() as session:
            plan = await current_plan(session, await get_account(session, CONTOSO))
    finally:
        await db.close()
    assert plan.version == 1 and len([i for i in plan.content.items if i.owner_id]) == 3
