"""Stakeholders: adding customer people, the relationship model (1:1, 1:n, n:n) and 90-day coverage."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kam.accounts import stakeholders_of
from kam.contacts import LogContact, log_contact
from kam.models import Account, ContactKind, Person, Stakeholder
from kam.stakeholders import model_of, relationship_model
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    action_data,
    choice_value,
    form_from_channel,
    invoke_card,
    invoke_message,
    last_card,
    tab_link,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CATALOG_APP_ID, CONTOSO_CHANNEL

TODAY = dt.date.today()


@pytest.mark.parametrize(
    ("ours", "theirs", "model"),
    [(0, 0, "none"), (1, 0, "none"), (1, 1, "1:1"), (3, 1, "1:1"), (1, 4, "1:n"), (2, 2, "n:n")],
)
def test_the_relationship_model_follows_who_meets_whom(ours: int, theirs: int, model: str) -> None:
    assert model_of(ours, theirs) == model


async def test_a_team_member_adds_a_stakeholder_who_then_appears_in_the_contact_form(bot: RunningBot) -> None:
    form = await form_from_channel(bot, "add stakeholder")
    assert "Add a stakeholder: Contoso Pharma" in texts_in(form)
    data = action_data(form) | {
        "name": "Dr.  Eva Klein",
        "title": "CFO",
        "function": "Finance",
        "level": "executive",
        "buying_role": "decision_maker",
        "attitude": "neutral",
        "owner": choice_value(form, "owner", "Megan Bowen"),
    }
    wrong = invoke_card(await bot.send(bot.teams.execute(data | {"level": "god"})))
    assert "Choose one of the offered options." in texts_in(wrong) and "Dr. Eva Klein" in texts_in(wrong)
    added = invoke_card(await bot.send(bot.teams.execute(data)))
    assert "Stakeholder added: Contoso Pharma" in texts_in(added) and "Dr. Eva Klein" in texts_in(added)
    twice = invoke_card(await bot.send(bot.teams.execute(data | {"name": "dr. eva klein"})))
    assert "stakeholder of that name already" in texts_in(twice)
    stolen = invoke_message(await bot.send(bot.teams.execute(data | {"name": "Someone"}, user="isaiah")))
    assert "opened for someone else" in stolen
    forged = bot.reseal(data | {"name": "Someone"}, "isaiah")
    refused = invoke_message(await bot.send(bot.teams.execute(forged, user="isaiah")))
    assert "not available to you" in refused and "Contoso" not in refused

    contact_form = await form_from_channel(bot, "log contact")
    assert "Dr. Eva Klein (CFO)" in texts_in(contact_form)
    async with bot.db.transaction() as session:
        eva = await session.scalar(select(Stakeholder).where(Stakeholder.name == "Dr. Eva Klein"))
        assert (
            eva is not None and eva.level == "executive" and eva.owner is not None and eva.owner.name == "Megan Bowen"
        )
    assert_valid_cards([form, wrong, added, twice])


async def meet(bot: RunningBot, who: str, stakeholders: list[str], days_ago: int, key: str) -> None:
    async with bot.db.transaction() as session:
        person = await session.scalar(select(Person).where(Person.name == who))
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        ids = tuple(s.id for s in await stakeholders_of(session, contoso.id) if s.name in stakeholders)
        await log_contact(
            session,
            LogContact(
                contoso.id,
                person,
                key.ljust(32, "0"),
                TODAY - dt.timedelta(days=days_ago),
                ContactKind.MEETING,
                "Met",
                stakeholder_ids=ids,
            ),
        )


async def relationship_map(bot: RunningBot) -> str:
    """The map the bot answers with (the contacts' channel posts may arrive around it)."""
    await bot.send(bot.teams.message("stakeholders", where=CONTOSO_CHANNEL))
    maps = [
        card
        for r in bot.connector.in_conversation(CONTOSO_CHANNEL)
        for card in r.cards
        if texts_in(card).startswith("Stakeholders: Contoso Pharma")
    ]
    assert maps, "no stakeholder map in the channel"
    assert_valid_cards([maps[-1]])
    return texts_in(maps[-1])


async def counted_model(bot: RunningBot) -> str:
    """The model as the Stakeholders tab counts it in the database (kam.stakeholders.relationship_model)."""
    async with bot.db.transaction() as session:
        contoso = await session.scalar(select(Account.id).where(Account.name == "Contoso Pharma"))
        assert contoso is not None
        return await relationship_model(session, contoso, dt.date.today())


async def test_the_map_shows_the_model_and_who_nobody_met_in_90_days(bot: RunningBot) -> None:
    text = await relationship_map(bot)
    assert "no contacts with known stakeholders" in text and text.count("Not met yet") == 2
    assert await counted_model(bot) == "none"

    await meet(bot, "Alex Wilber", ["Dr. Hanna Berger"], 3, "a")
    assert "Relationship model 1:1" in await relationship_map(bot)
    assert await counted_model(bot) == "1:1"

    await meet(bot, "Alex Wilber", ["Tom Richter"], 120, "b")
    text = await relationship_map(bot)
    assert "Relationship model 1:n" in text
    assert await counted_model(bot) == "1:n"
    assert "Nobody on our side has met these people in 90 days" in text and text.rstrip().endswith("Tom Richter")

    await meet(bot, "Adele Vance", ["Tom Richter"], 10, "c")
    text = await relationship_map(bot)
    assert "Relationship model n:n" in text and "Nobody on our side" not in text
    assert await counted_model(bot) == "n:n"
    assert "recently met by Adele Vance" in text


async def test_in_a_chat_the_map_is_for_the_named_account(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("stakeholders"))
    assert "Which account?" in bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    await bot.send(bot.teams.message("stakeholder fabrikam", locale="de-DE"))
    card, _ = last_card(bot.connector, "a:personal-alex")
    assert "Stakeholder: Fabrikam Logistics" in texts_in(card) and "Maria Lopez" in texts_in(card)


async def test_a_map_too_long_for_a_card_names_the_first_and_links_the_stakeholders_tab(
    bot_in_catalog: RunningBot,
) -> None:
    async with bot_in_catalog.db.transaction() as session:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        assert contoso is not None
        session.add_all(Stakeholder(account_id=contoso.id, name=f"Buyer {i:02d}") for i in range(20))
    await bot_in_catalog.send(bot_in_catalog.teams.message("stakeholders", where=CONTOSO_CHANNEL))
    card, _ = last_card(bot_in_catalog.connector, CONTOSO_CHANNEL)
    text = texts_in(card)
    assert "Buyer 14" in text and "Buyer 15" not in text, "the first 15 of 22, by name"
    assert "… and 7 more stakeholders: the Stakeholders tab of the account's channel has them all." in text
    path, context = tab_link(card)
    assert path == f"/l/entity/{CATALOG_APP_ID}/kambot-stakeholders-1" and context == {"channelId": CONTOSO_CHANNEL}
    assert "Buyer 00, Buyer 01" in text and "and 12 more" in text, "the uncovered named, the first ten"
    assert_valid_cards([card])
