"""timeline / what's new: the latest contacts and decisions of an account, with paging."""

from __future__ import annotations

import datetime as dt

from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import action_data, fill, invoke_card, invoke_message, last_card, texts_in
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL

TODAY = dt.date.today()


async def test_the_channel_timeline_pages_through_contacts_and_decisions_newest_first(bot: RunningBot) -> None:
    await fill(bot, contacts=5, decisions=2, confidential=True)
    await bot.send(bot.teams.message("what's new", where=CONTOSO_CHANNEL))
    first, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    text = texts_in(first)
    assert "What's new: Contoso Pharma" in text and "1–5 of 7" in text
    assert text.index("Decision 0") < text.index("Call number 1")
    assert "Confidential contact" in text and "Call number 0" not in text, (
        "confidential details stay out of the channel"
    )
    assert [a["title"] for a in first["actions"]] == ["Older"]

    second = invoke_card(await bot.send(bot.teams.execute(action_data(first), where=CONTOSO_CHANNEL)))
    assert "6–7 of 7" in texts_in(second) and "Call number 4" in texts_in(second)
    assert [a["title"] for a in second["actions"]] == ["Newer"]
    back = invoke_card(await bot.send(bot.teams.execute(second["actions"][0]["data"], where=CONTOSO_CHANNEL)))
    assert "1–5 of 7" in texts_in(back)
    assert_valid_cards([first, second, back])


async def test_in_a_chat_the_account_is_named_or_asked_for(bot: RunningBot) -> None:
    await fill(bot, contacts=1, decisions=0)
    await bot.send(bot.teams.message("timeline"))
    assert "Which account?" in bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    await bot.send(bot.teams.message("timeline nowhere"))
    assert 'matches "nowhere"' in bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    await bot.send(bot.teams.message("Timeline Contoso"))
    card, _ = last_card(bot.connector, "a:personal-alex")
    assert "Call number 0" in texts_in(card)
    await bot.send(bot.teams.message("zeitleiste fabrikam", locale="de-DE"))
    empty, _ = last_card(bot.connector, "a:personal-alex")
    assert "Neuigkeiten: Fabrikam Logistics" in texts_in(empty) and "noch nichts erfasst" in texts_in(empty)


async def test_paging_someone_elses_account_or_with_a_forged_offset_is_refused(bot: RunningBot) -> None:
    await fill(bot, contacts=6, decisions=0)
    await bot.send(bot.teams.message("timeline contoso"))
    card, _ = last_card(bot.connector, "a:personal-alex")
    data = action_data(card)
    refused = invoke_message(await bot.send(bot.teams.execute(data, user="isaiah")))
    assert "not available to you" in refused and "Contoso" not in refused
    assert "not available to you" in invoke_message(await bot.send(bot.teams.execute(data | {"offset": 1})))
    assert "couldn't read" in invoke_message(await bot.send(bot.teams.execute(bot.reseal(data | {"offset": -5}))))
    assert "couldn't read" in invoke_message(await bot.send(bot.teams.execute(bot.reseal(data | {"offset": "1"}))))
