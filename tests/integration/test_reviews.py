"""Plan reviews over HTTP: start, owners update, remind, close with a summary; reminders on the due date; cadence."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from kam.accounts import get_account
from kam.models import Account
from kam.people import Caller, find_person
from kam.plans import ItemStatus, PlanContent, PlanItem, current_plan, save_plan
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import (
    OFFER,
    PRICES,
    SUPPLIER_DAY,
    action_data,
    chat_cards,
    invoke_card,
    invoke_message,
    last_card,
    review_data,
    seed_plan,
    start,
    tab_link,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CATALOG_APP_ID, CONTOSO_CHANNEL, USERS

CONTOSO = 1
TODAY = dt.date.today()


async def test_a_review_runs_from_start_to_summary(bot: RunningBot) -> None:
    await seed_plan(bot)
    await bot.send(bot.teams.message("review plan", user="adele", where=CONTOSO_CHANNEL))
    assert "Only the account's KA managers (and its admins) may do this." in bot.connector.recorded[-1].activity["text"]

    await bot.send(bot.teams.message("review plan", user="megan", where=CONTOSO_CHANNEL))
    form, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    past = invoke_card(
        await bot.send(
            bot.teams.execute(
                action_data(form) | {"due_on": (TODAY - dt.timedelta(days=1)).isoformat()},
                user="megan",
                where=CONTOSO_CHANNEL,
            )
        )
    )
    assert "Choose today or a later day." in texts_in(past)
    started = invoke_card(
        await bot.send(
            bot.teams.execute(
                action_data(form) | {"due_on": (TODAY + dt.timedelta(days=7)).isoformat()},
                user="megan",
                where=CONTOSO_CHANNEL,
            )
        )
    )
    assert "Updated: 0 of 2 owners" in texts_in(started)
    assert {a["verb"] for a in started["actions"]} == {"review.remind", "review.close"}
    await bot.settle()
    post = [r.cards[0] for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1]
    assert "Plan review: Contoso Pharma" in texts_in(post)
    assert sorted(post["refresh"]["userIds"]) == ["user-id-1", "user-id-2", "user-id-4"]

    adeles = chat_cards(bot.connector, "adele")[-1]
    assert f"status_{OFFER}" in str(adeles) and f"status_{PRICES}" not in str(adeles), "each owner sees their own"

    await bot.send(bot.teams.message("review plan", user="megan", where=CONTOSO_CHANNEL))
    said, shown = bot.connector.recorded[-2:]
    assert "A review of this plan is already running" in said.activity["text"]
    assert "Updated: 0 of 2 owners" in texts_in(shown.cards[0]), "the running review, not a second one"

    mine = {f"status_{OFFER}": "done", f"progress_{OFFER}": "100", f"comment_{OFFER}": "Offer accepted"}
    answered = invoke_card(
        await bot.send(bot.teams.execute(review_data(adeles, "review.update", **mine), user="adele"))
    )
    assert "Updated: 1 of 2 owners" in texts_in(answered)
    theirs = {f"status_{OFFER}": "blocked", f"progress_{OFFER}": "0"}
    refused = invoke_message(
        await bot.send(bot.teams.execute(review_data(adeles, "review.update", **theirs), user="patti"))
    )
    assert refused == "You can only update the objectives and actions you own."
    garbage = invoke_message(
        await bot.send(
            bot.teams.execute(review_data(adeles, "review.update", **{f"status_{OFFER}": "exploded"}), user="adele")
        )
    )
    assert "couldn't read what this card sent" in garbage

    reminded = invoke_message(await bot.send(bot.teams.execute(review_data(started, "review.remind"), user="megan")))
    assert reminded == "Reminded: Patti Fernandez"
    again = invoke_message(await bot.send(bot.teams.execute(review_data(started, "review.remind"), user="megan")))
    assert "Nobody to remind" in again
    await bot.settle()
    pattis = chat_cards(bot.connector, "patti")
    assert len(pattis) == 2 and "Reminder: please send your update" in texts_in(pattis[1])

    # Patti answers from the channel card, which shows her own items when it refreshes for her.
    hers = invoke_card(
        await bot.send(bot.teams.execute(post["refresh"]["action"]["data"], user="patti", where=CONTOSO_CHANNEL))
    )
    assert f"status_{PRICES}" in str(hers)
    update_prices = {
        f"status_{PRICES}": "blocked",
        f"progress_{PRICES}": "20",
        f"decision_{PRICES}": "true",
        f"comment_{PRICES}": "Germany wants its own list",
    }
    done = invoke_card(
        await bot.send(
            bot.teams.execute(review_data(hers, "review.update", **update_prices), user="patti", where=CONTOSO_CHANNEL)
        )
    )
    assert "Updated: 2 of 2 owners" in texts_in(done)

    summary = invoke_card(await bot.send(bot.teams.execute(review_data(started, "review.close"), user="megan")))
    text = texts_in(summary)
    assert "Plan review closed: Contoso Pharma" in text and "plan version 2" in text
    assert "What changed (2)" in text and "Late (1)" in text and "Decisions needed (1)" in text
    assert "Germany wants its own list" in text
    closed_again = invoke_message(await bot.send(bot.teams.execute(review_data(started, "review.close"), user="megan")))
    assert "closed already" in closed_again
    await bot.settle()
    assert "Plan review closed" in texts_in(
        [r.cards[0] for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1]
    )
    async with bot.db.transaction() as session:
        plan = await current_plan(session, await get_account(session, CONTOSO))
    statuses = {item.id: item.status for item in plan.content.items}
    assert plan.version == 2 and statuses == {
        OFFER: ItemStatus.DONE,
        PRICES: ItemStatus.BLOCKED,
        SUPPLIER_DAY: ItemStatus.OPEN,
    }
    assert_valid_cards([form, past, started, post, adeles, answered, pattis[1], hers, done, summary])


async def test_owners_who_have_not_answered_are_reminded_on_the_due_date(bot: RunningBot) -> None:
    await seed_plan(bot)
    await start(bot, TODAY)

    def both_reminded(fake: ConnectorFake) -> bool:
        return all(any("Reminder: please send" in texts_in(c) for c in chat_cards(fake, u)) for u in ("adele", "patti"))

    await bot.connector.wait_for(both_reminded, timeout=10)


async def test_the_ka_manager_hears_once_when_a_review_is_due_by_the_tiers_cadence(bot: RunningBot) -> None:
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant
    async with bot.db.transaction() as session:
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)  # strategic accounts: every 91 days
        await session.execute(update(Account).where(Account.id == CONTOSO).values(created_at=long_ago))

    def told(fake: ConnectorFake) -> bool:
        return any("A plan review of Contoso Pharma is due" in texts_in(c) for c in chat_cards(fake, "megan"))

    await bot.connector.wait_for(told, timeout=10)
    await asyncio.sleep(1)
    dues = [c for c in chat_cards(bot.connector, "megan") if "is due" in texts_in(c)]
    assert len(dues) == 1 and "has not been reviewed yet" in texts_in(dues[0])
    assert not [c for c in chat_cards(bot.connector, "alex") if "is due" in texts_in(c)], "Fabrikam: every 182 days"
    async with bot.db.transaction() as session:
        assert (await session.scalar(select(Account).where(Account.id == CONTOSO))).review_due_notified_at
    assert_valid_cards(dues)


async def test_an_owner_of_many_items_updates_them_a_few_at_a_time_and_the_cards_link_the_plan(
    bot_in_catalog: RunningBot,
) -> None:
    bot = bot_in_catalog
    async with bot.db.transaction() as session:
        account = await get_account(session, CONTOSO)
        adele = await find_person(session, Caller(USERS["adele"].aad_object_id, None, ""))
        megan = await find_person(session, Caller(USERS["megan"].aad_object_id, None, ""))
        assert adele is not None and megan is not None
        items = [PlanItem(id=f"{i:032x}", title=f"Action {i:02d}", owner_id=adele.id) for i in range(20)]
        await save_plan(session, account, megan, 0, PlanContent(items=items))
    await start(bot, TODAY + dt.timedelta(days=7))
    await bot.settle()

    post = [r.cards[0] for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1]
    assert "Action 11" in texts_in(post) and "Action 12" not in texts_in(post)
    assert "… and 8 more objectives and actions" in texts_in(post)
    path, context = tab_link(post)
    assert path == f"/l/entity/{CATALOG_APP_ID}/kambot-plan-{CONTOSO}" and context == {"channelId": CONTOSO_CHANNEL}

    card = chat_cards(bot.connector, "adele")[-1]
    updated: list[str] = []
    for _ in range(7):  # 3 at a time
        shown = [e["items"][1]["id"].removeprefix("status_") for e in card["body"] if e.get("type") == "Container"]
        fresh = [i for i in shown if i not in updated]
        assert len(shown) == 3 and len(fresh) == min(3, 20 - len(updated)), "those not yet updated first"
        left = 20 - len(updated) - len(fresh)
        assert (f"{left} more of yours to update" in texts_in(card)) == (left > 0)
        answers = {f"status_{i}": "done" for i in shown} | {f"progress_{i}": "100" for i in shown}
        card = invoke_card(
            await bot.send(bot.teams.execute(review_data(card, "review.update", **answers), user="adele"))
        )
        updated += fresh
    assert sorted(updated) == [f"{i:032x}" for i in range(20)]
    assert "Updated: 1 of 1 owners" in texts_in(card)
    assert_valid_cards([post, card])
