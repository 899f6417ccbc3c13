"""What a card says when a date is missing or a review is over: no dashes for dates, no waiting on a closed review."""

from __future__ import annotations

import datetime as dt

from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    DECISION,
    OFFER,
    action_data,
    channel_post,
    chat_cards,
    choice_value,
    form_from_channel,
    invoke_card,
    last_card,
    review_data,
    seed_plan,
    start,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL

TODAY = dt.date.today()


async def test_a_decision_without_a_tell_by_date_names_who_tells_the_customer_and_no_until(bot: RunningBot) -> None:
    form = await form_from_channel(bot, "log decision")
    undated = {k: v for k, v in DECISION.items() if k != "communicate_by"}
    data = action_data(form) | undated | {"communicator": choice_value(form, "communicator", "Megan Bowen")}
    logged = invoke_card(await bot.send(bot.teams.execute(data)))
    await bot.settle()
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    for card in (logged, post):
        assert "by Megan Bowen" in texts_in(card)
        assert "until" not in texts_in(card)
    assert_valid_cards([logged, post])


async def test_a_price_action_without_an_end_says_from_when_and_no_until(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log price action", user="patti"))
    form, _ = last_card(bot.connector, "a:personal-patti")
    offer = {"title": "Spring offer on pumps", "countries": "DE", "starts_on": TODAY.isoformat()}
    logged = invoke_card(await bot.send(bot.teams.execute(action_data(form) | offer, user="patti")))
    await bot.settle()
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "Global price risk")
    for card in (logged, post):
        assert f"DE, from {TODAY.isoformat()}, logged by Patti Fernandez" in texts_in(card)
        assert "until" not in texts_in(card)
    assert_valid_cards([logged, post])


async def test_a_closed_review_says_who_answered_and_waits_for_nobody(bot: RunningBot) -> None:
    await seed_plan(bot)
    started = await start(bot, TODAY + dt.timedelta(days=7))
    await bot.settle()
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "Plan review: Contoso Pharma")
    assert "Waiting for Adele Vance, Patti Fernandez" in texts_in(post)

    adeles = chat_cards(bot.connector, "adele")[-1]
    done = {f"status_{OFFER}": "done", f"progress_{OFFER}": "100"}
    await bot.send(bot.teams.execute(review_data(adeles, "review.update", **done), user="adele"))
    await bot.send(bot.teams.execute(review_data(started, "review.close"), user="megan"))

    # Whoever opens the channel post later (its refresh, or the view after the close) sees it as it is now.
    closed = invoke_card(
        await bot.send(bot.teams.execute(post["refresh"]["action"]["data"], user="megan", where=CONTOSO_CHANNEL))
    )
    text = texts_in(closed)
    assert "Waiting for" not in text
    assert f"Closed by Megan Bowen on {TODAY.isoformat()}" in text
    assert "Answered: Adele Vance" in text and "No answer: Patti Fernandez" in text
    assert "owners answer by" not in text
    assert not closed.get("actions") and "refresh" not in closed
    assert_valid_cards([post, closed])
