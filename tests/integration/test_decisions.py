"""Logging a decision, through the bot's HTTP endpoint and the Bot Connector fake."""

from __future__ import annotations

from sqlalchemy import func, select

from kam.models import Decision
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    DECISION,
    action_data,
    choice_value,
    form_from_channel,
    invoke_card,
    invoke_message,
    last_card,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL


async def decisions(bot: RunningBot) -> int:
    async with bot.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Decision)) or 0)


async def test_a_decision_logged_in_the_channel_is_posted_there_with_the_ka_manager_mentioned(bot: RunningBot) -> None:
    form = await form_from_channel(bot, "log decision")
    assert "Log a decision: Contoso Pharma" in texts_in(form)
    communicator = choice_value(form, "communicator", "Megan Bowen")
    data = action_data(form) | DECISION | {"communicator": communicator}
    logged = invoke_card(await bot.send(bot.teams.execute(data)))
    assert "Decision logged: Contoso Pharma" in texts_in(logged)
    assert "by Megan Bowen, until" in texts_in(logged)

    again = invoke_card(await bot.send(bot.teams.execute(data)))
    assert texts_in(again) == texts_in(logged)
    await bot.settle()
    posts = [
        r for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards and "New decision" in texts_in(r.cards[0])
    ]
    assert len(posts) == 1 and await decisions(bot) == 1
    post = posts[0].cards[0]
    assert "Pricing, effective" in texts_in(post) and "<at>Megan Bowen</at>" in texts_in(post)
    assert post["msteams"]["entities"][0]["mentioned"]["id"] == "user-id-1"
    assert_valid_cards([form, logged, post])


async def test_a_decision_form_with_gaps_comes_back_with_errors_and_nothing_is_stored(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log decision", user="isaiah"))
    form, _ = last_card(bot.connector, "a:personal-isaiah")
    assert "Fabrikam Logistics" in texts_in(form)
    data = action_data(form) | {
        "title": "x" * 201,
        "category": "bribery",
        "decision": "",
        "decided_by": "Alex",
        "effective_on": "soon",
        "communicator": "1,2",
    }
    again = invoke_card(await bot.send(bot.teams.execute(data, user="isaiah")))
    text = texts_in(again)
    assert "Too long: at most 200 characters (you wrote 201)." in text
    assert "Choose one of the offered options." in text and "This field is required." in text
    assert "Enter a date as YYYY-MM-DD." in text
    assert await decisions(bot) == 0
    assert_valid_cards([form, again])


async def test_people_off_the_team_cannot_log_decisions_for_it(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log decision", user="isaiah"))
    form, _ = last_card(bot.connector, "a:personal-isaiah")
    data = action_data(form) | DECISION
    stolen = invoke_message(await bot.send(bot.teams.execute(data, user="lynne")))
    assert "opened for someone else" in stolen
    refused = invoke_message(await bot.send(bot.teams.execute(bot.reseal(data, "lynne"), user="lynne")))
    assert "not available to you" in refused and "Fabrikam" not in refused
    assert await decisions(bot) == 0


async def test_a_user_on_two_accounts_picks_one_first_and_german_works(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("Entscheidung erfassen", locale="de-DE"))
    picker, message_id = last_card(bot.connector, "a:personal-alex")
    assert "Entscheidung erfassen" in texts_in(picker)
    data = action_data(picker) | {"account_id": choice_value(picker, "account_id", "Fabrikam Logistics")}
    activity = bot.teams.execute(data, reply_to=message_id)
    activity["locale"] = "de-DE"
    form = invoke_card(await bot.send(activity))
    assert "Entscheidung erfassen: Fabrikam Logistics" in texts_in(form) and "Rahmenvertrag" in texts_in(form)
    logged = invoke_card(await bot.send(bot.teams.execute(action_data(form) | DECISION)))
    assert "Decision logged: Fabrikam Logistics" in texts_in(logged)
