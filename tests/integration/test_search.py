"""The search command: find one of your accounts and insert its summary card into any chat."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from kam.contacts import LogContact, log_contact
from kam.models import Account, ContactKind, Person
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import texts_in
from tests.support.harness import RunningBot
from tests.support.teams import message_action


def query(bot: RunningBot, text: str, user: str = "alex", command: str = "searchAccount") -> dict[str, Any]:
    value = {
        "commandId": command,
        "parameters": [{"name": "query", "value": text}],
        "queryOptions": {"skip": 0, "count": 25},
    }
    return message_action(bot.teams, "composeExtension/query", value, user)


async def test_a_search_finds_the_users_accounts_with_a_summary_card(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        alex = await session.scalar(select(Person).where(Person.name == "Alex Wilber"))
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        await log_contact(
            session, LogContact(contoso.id, alex, "s" * 32, dt.date.today(), ContactKind.CALL, "Hi", "Hanna")
        )
    reply = await bot.send(query(bot, "CON"))
    assert reply.status == 200
    result = reply.body["composeExtension"]
    assert result["type"] == "result" and [a["preview"]["content"]["title"] for a in result["attachments"]] == [
        "Contoso Pharma"
    ]
    summary = result["attachments"][0]["content"]
    text = texts_in(summary)
    assert "Strategic Key Account" in text and "KA manager: Megan Bowen" in text
    assert "1 contact(s), 0 decision(s)" in text and f"Last customer contact: {dt.date.today().isoformat()}" in text
    every = await bot.send(query(bot, ""))
    assert len(every.body["composeExtension"]["attachments"]) == 2
    assert_valid_cards([summary])


async def test_nobody_finds_accounts_they_are_not_on(bot: RunningBot) -> None:
    reply = await bot.send(query(bot, "contoso", user="isaiah"))
    assert reply.body["composeExtension"]["attachments"] == []
    reply = await bot.send(query(bot, "", user="lynne"))
    assert reply.body["composeExtension"]["attachments"] == []
    assert (await bot.send(query(bot, "x", command="somethingElse"))).status == 400


async def test_a_confidential_account_is_never_offered_since_the_card_goes_into_a_message_others_read(
    bot: RunningBot,
) -> None:
    async with bot.db.transaction() as session:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        assert contoso is not None
        contoso.confidential = True
    reply = await bot.send(query(bot, "", user="alex"))  # from the compose box of a personal chat
    titles = [a["preview"]["content"]["title"] for a in reply.body["composeExtension"]["attachments"]]
    assert titles == ["Fabrikam Logistics"]
