"""Acknowledgements: 1:1 cards for everyone who must know, the refreshing channel card, reminders, reports."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kam.models import Acknowledgement, Person
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import (
    DECISION,
    GOOD_INPUT,
    channel_post,
    chat_cards,
    invoke_card,
    invoke_message,
    log_in_channel,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot, bot_with_rules
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL, USERS

TODAY = dt.date.today().isoformat()


def verbs(card: dict[str, Any]) -> list[str]:
    return [a.get("verb", "") for a in card.get("actions") or []]


async def acknowledgement_rows(bot: RunningBot) -> list[tuple[str, bool, bool]]:
    async with bot.db.transaction() as session:
        rows = await session.scalars(select(Acknowledgement).order_by(Acknowledgement.id))
        return [(a.person.name, a.required, a.acknowledged_at is not None) for a in rows]


async def test_everyone_the_rules_name_gets_a_card_to_acknowledge_and_the_channel_shows_who_has(
    bot: RunningBot,
) -> None:
    # Megan has talked to the bot in German before: her card comes to that chat, in German.
    await bot.send(bot.teams.message("hilfe", user="megan", locale="de-DE"))
    logged = await log_in_channel(bot, "log decision", DECISION)
    assert "Waiting for Megan Bowen, Patti Fernandez" in texts_in(logged)

    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    assert "Acknowledged: 0 of 2" in texts_in(post)
    assert post["refresh"]["userIds"] == ["user-id-1", "user-id-4"]
    assert post["refresh"]["action"]["verb"] == "ack.view"
    assert sorted(e["mentioned"]["name"] for e in post["msteams"]["entities"]) == ["Megan Bowen", "Patti Fernandez"]

    megans = chat_cards(bot.connector, "megan")[-1]
    assert "Zur Kenntnis genommen" in texts_in(megans) and "Warum Sie:" in texts_in(megans)
    pattis = chat_cards(bot.connector, "patti")
    assert len(pattis) == 1, "one card per person"
    assert "Why you: the rules name you for pricing decisions." in texts_in(pattis[0])
    opened = bot.connector.chats.keys() - {USERS["alex"].teams_user_id}  # Alex's, for the form he asked for
    assert opened == {"user-id-4"}, "the bot opened a chat only with Patti, who had none"

    click = bot.teams.execute(verb_data(megans, "ack"), user="megan")
    answered = invoke_card(await bot.send(click))
    assert f"You acknowledged this on {TODAY}." in texts_in(answered)
    assert "ack" not in verbs(answered)
    invoke_card(await bot.send(bot.teams.execute(verb_data(megans, "ack"), user="megan")))
    assert await acknowledgement_rows(bot) == [("Megan Bowen", True, True), ("Patti Fernandez", True, False)]

    refreshed = invoke_card(
        await bot.send(bot.teams.execute(post["refresh"]["action"]["data"], user="patti", where=CONTOSO_CHANNEL))
    )
    assert "Acknowledged: 1 of 2" in texts_in(refreshed)
    assert f"Acknowledged by Megan Bowen ({TODAY})" in texts_in(refreshed)
    assert "Waiting for Patti Fernandez" in texts_in(refreshed) and "ack" in verbs(refreshed)
    assert_valid_cards([logged, post, megans, pattis[0], answered, refreshed])


async def set_megans_ids(bot: RunningBot, aad_object_id: str, teams_user_id: str) -> None:
    async with bot.db.transaction() as session:
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        assert megan is not None
        megan.aad_object_id, megan.teams_user_id = aad_object_id, teams_user_id


async def test_cards_follow_a_chat_and_language_that_change_and_reach_someone_added_after_they_first_chatted(
    bot: RunningBot,
) -> None:
    # Megan chats before an import puts her on the team list: nobody kambot knows, nothing is kept.
    real = USERS["megan"]
    await set_megans_ids(bot, "not-yet-imported", "29:not-yet-imported")
    await bot.send(bot.teams.message("help", user="megan"))
    await set_megans_ids(bot, real.aad_object_id, real.teams_user_id)
    # Then she chats again: her card comes to that chat, none is created.
    await bot.send(bot.teams.message("help", user="megan"))
    await log_in_channel(bot, "log decision", DECISION)
    assert "Acknowledge" in texts_in(chat_cards(bot.connector, "megan")[-1])
    assert real.teams_user_id not in bot.connector.chats, "her card went to the chat she opened"
    # With Teams switched to German, her next card is in German.
    await bot.send(bot.teams.message("hilfe", user="megan", locale="de-DE"))
    await log_in_channel(bot, "log decision", DECISION)
    assert "Zur Kenntnis genommen" in texts_in(chat_cards(bot.connector, "megan")[-1])


async def test_a_team_member_not_asked_may_acknowledge_others_are_refused_and_nothing_is_kept(bot: RunningBot) -> None:
    await log_in_channel(bot, "log decision", DECISION)
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    data = verb_data(post, "ack")

    adele = invoke_card(await bot.send(bot.teams.execute(data, user="adele", where=CONTOSO_CHANNEL)))
    assert "Also acknowledged (not asked): Adele Vance" in texts_in(adele)
    assert "Acknowledged: 0 of 2" in texts_in(adele)

    lynne = invoke_message(await bot.send(bot.teams.execute(data, user="lynne", where=CONTOSO_CHANNEL)))
    assert "not available to you" in lynne and "Contoso" not in lynne
    counted = invoke_message(await bot.send(bot.teams.execute(data | {"item_id": 999}, user="adele")))
    assert "not available to you" in counted
    gone = invoke_message(await bot.send(bot.teams.execute(bot.reseal(data | {"item_id": 999}, "adele"), user="adele")))
    assert gone == lynne  # an id that does not exist and one that is not yours: the same answer
    other = invoke_message(await bot.send(bot.teams.execute(bot.reseal(data | {"account_id": 2}), user="alex")))
    assert other == lynne
    garbage = bot.reseal(data | {"item_id": "x"}, "adele")
    assert "couldn't read what this card sent" in invoke_message(
        await bot.send(bot.teams.execute(garbage, user="adele"))
    )
    assert await acknowledgement_rows(bot) == [
        ("Megan Bowen", True, False),
        ("Patti Fernandez", True, False),
        ("Adele Vance", False, True),
    ]


async def test_when_the_rules_name_nobody_but_the_author_nobody_is_asked(bot: RunningBot) -> None:
    logged = await log_in_channel(bot, "log contact", GOOD_INPUT, user="megan")
    assert "Nobody else had to be told" in texts_in(logged)
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New customer contact")
    assert "Nobody else had to be told under this account's rules." in texts_in(post)
    assert "refresh" not in post and "entities" not in post["msteams"]
    in_her_chat = [texts_in(card).splitlines()[0] for card in chat_cards(bot.connector, "megan")]
    assert in_her_chat == ["Log a customer contact: Contoso Pharma"], "the form she asked for, nothing to acknowledge"
    assert await acknowledgement_rows(bot) == []


async def test_someone_on_two_accounts_acknowledges_each_on_its_own(
    sqlite_url: str, connector: ConnectorFake, tmp_path: Path
) -> None:
    rules = "accounts:\n  Contoso Pharma:\n    inform:\n      - {about: contact, inform: ['function:sales']}\n"
    async with bot_with_rules(sqlite_url, connector, tmp_path, rules) as bot:
        await log_in_channel(bot, "log contact", GOOD_INPUT, user="isaiah", where=FABRIKAM_CHANNEL)
        await log_in_channel(bot, "log contact", GOOD_INPUT, user="adele")
        fabrikam, contoso = chat_cards(connector, "alex")
        assert "Fabrikam Logistics" in texts_in(fabrikam)
        assert "the rules name you for customer contacts" in texts_in(fabrikam)
        assert "Contoso Pharma" in texts_in(contoso)
        assert chat_cards(connector, "megan") == [], "Contoso's rule names sales, not the KA manager"

        invoke_card(await bot.send(bot.teams.execute(verb_data(contoso, "ack"))))
        still_open = invoke_card(await bot.send(bot.teams.execute(fabrikam["refresh"]["action"]["data"])))
        assert "Waiting for Alex Wilber" in texts_in(still_open) and "ack" in verbs(still_open)
        assert await acknowledgement_rows(bot) == [("Alex Wilber", True, False), ("Alex Wilber", True, True)]


async def test_the_unacknowledged_are_reminded_once_then_reported_to_the_ka_manager(
    sqlite_url: str, connector: ConnectorFake, tmp_path: Path
) -> None:
    # About two seconds each, so that the test sees both steps.
    rules = (
        "tiers:\n  strategic_key_account:\n    acknowledge: {remind_after_hours: 0.0006, report_after_hours: 0.0006}\n"
    )
    async with bot_with_rules(sqlite_url, connector, tmp_path, rules) as bot:
        await log_in_channel(bot, "log decision", DECISION)
        first = chat_cards(connector, "megan")[-1]
        invoke_card(await bot.send(bot.teams.execute(verb_data(first, "ack"), user="megan")))

        def reported(fake: ConnectorFake) -> bool:
            return any("Not acknowledged in time by" in texts_in(c) for c in chat_cards(fake, "megan"))

        started = time.monotonic()
        await connector.wait_for(reported, timeout=15)
        assert time.monotonic() - started > 3, "not before the reminder time and the report time have passed"
        await asyncio.sleep(2.5)
        pattis = [texts_in(c) for c in chat_cards(connector, "patti")]
        assert len(pattis) == 2 and "Reminder: you have not acknowledged this yet." in pattis[1], "reminded once"
        megans = [texts_in(c) for c in chat_cards(connector, "megan")]
        assert not any("Reminder" in text for text in megans), "who acknowledged is not reminded"
        reports = [text for text in megans if "Not acknowledged in time by" in text]
        assert len(reports) == 1 and "Not acknowledged in time by: Patti Fernandez" in reports[0]
        assert_valid_cards(chat_cards(connector, "patti") + chat_cards(connector, "megan"))
