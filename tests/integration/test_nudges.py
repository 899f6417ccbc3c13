"""The weekly nudge: once per member, account and week, at their hour, skipped after logging; members pause it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from kam.contacts import LogContact, log_contact
from kam.models import Account, ContactKind, NudgeSent, Person
from kam.nudges import WEEKDAYS, set_paused
from kam.people import Caller, find_person
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import chat_cards, eventually, invoke_card, save, scrape, texts_in, verb_data
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, USERS


@pytest.fixture
async def prepared(sqlite_url: str) -> str:
    """The demo, where Alex logged for Contoso this week and Patti paused her nudges."""
    await migrate_and_seed(sqlite_url)
    db = Database(sqlite_url)
    async with db.transaction() as session:
        people = {u: await find_person(session, Caller(USERS[u].aad_object_id, None, "")) for u in ("alex", "patti")}
        await log_contact(
            session, LogContact(1, people["alex"], "e" * 32, dt.date.today(), ContactKind.CALL, "Call", "Hanna")
        )
        set_paused(people["patti"], True)  # type: ignore[arg-type]
    await db.close()
    return sqlite_url


@pytest.fixture
async def nudging(prepared: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """A bot whose nudge time is now (this weekday, from midnight), in UTC for everyone."""
    today = WEEKDAYS[dt.datetime.now(dt.UTC).weekday()]
    settings = local_settings(prepared, nudge_weekday=today, nudge_hour=0, outbox_sweep_seconds=0.3)
    bot = await RunningBot(settings, connector).start()
    yield bot
    await bot.stop()


def nudges_to(connector: ConnectorFake, user: str) -> list[str]:
    return [texts_in(c) for c in chat_cards(connector, user) if "Anything to log this week?" in texts_in(c)]


async def test_each_member_is_nudged_once_per_account_unless_they_logged_or_paused(
    nudging: RunningBot, connector: ConnectorFake
) -> None:
    bot = nudging
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant

    def everyone_asked(fake: ConnectorFake) -> bool:
        return all(nudges_to(fake, u) for u in ("megan", "adele", "isaiah")) and bool(nudges_to(fake, "alex"))

    await connector.wait_for(everyone_asked, timeout=10)
    await asyncio.sleep(1.2)  # more sweeps: nothing twice
    assert len(nudges_to(connector, "megan")) == 1 and len(nudges_to(connector, "adele")) == 1
    alexs = nudges_to(connector, "alex")
    assert len(alexs) == 1 and "Fabrikam Logistics" in alexs[0], "not asked about Contoso: he logged this week"
    assert nudges_to(connector, "patti") == [], "paused"
    async with bot.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(NudgeSent)) == 4


async def test_one_tap_on_the_nudge_opens_the_form_of_that_account(
    nudging: RunningBot, connector: ConnectorFake
) -> None:
    bot = nudging
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))

    def asked(fake: ConnectorFake) -> bool:
        return bool([c for c in chat_cards(fake, "adele") if "Anything to log" in texts_in(c)])

    await connector.wait_for(asked, timeout=10)
    nudge = next(c for c in chat_cards(connector, "adele") if "Anything to log" in texts_in(c))
    form = invoke_card(await bot.send(bot.teams.execute(verb_data(nudge, "contact.pick"), user="adele")))
    assert "Log a customer contact: Contoso Pharma" in texts_in(form) or "Contoso Pharma" in texts_in(form)
    assert any(e.get("id") == "summary" for e in form["body"])


async def test_members_pause_and_resume_their_own_nudges(bot: RunningBot, connector: ConnectorFake) -> None:
    async def paused() -> bool:
        async with bot.db.transaction() as session:
            person = await find_person(session, Caller(USERS["isaiah"].aad_object_id, None, ""))
            return bool(person and person.nudges_paused)

    await bot.send(bot.teams.message("pause nudges", user="isaiah"))
    assert "Paused: no more questions about your accounts" in connector.recorded[-1].activity["text"] and await paused()
    await bot.send(bot.teams.message("erinnerungen fortsetzen", user="isaiah", locale="de-DE"))
    assert "wieder da" in connector.recorded[-1].activity["text"] and not await paused()


async def answered(bot: RunningBot) -> dict[tuple[str, str], bool]:
    """Each weekly nudge sent, by (member, account): whether it counts as answered."""
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(Person.name, Account.name, NudgeSent.answered_at)
            .join(Person, Person.id == NudgeSent.person_id)
            .join(Account, Account.id == NudgeSent.account_id)
        )
        return {(person, account): moment is not None for person, account, moment in rows.all()}


async def test_logging_after_the_nudge_answers_it_for_that_account_only(
    nudging: RunningBot, connector: ConnectorFake
) -> None:
    bot = nudging
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))
    await connector.wait_for(lambda fake: bool(nudges_to(fake, "adele")) and bool(nudges_to(fake, "megan")), timeout=10)
    nudge = next(c for c in chat_cards(connector, "adele") if "Anything to log" in texts_in(c))
    form = invoke_card(await bot.send(bot.teams.execute(verb_data(nudge, "contact.pick"), user="adele")))
    logged = invoke_card(await save(bot, form, user="adele"))
    assert "Contoso Pharma" in texts_in(logged)

    async def adeles_answered() -> bool:
        return any(answer for (person, _), answer in (await answered(bot)).items() if person.startswith("Adele"))

    await eventually(adeles_answered)  # the sweep marks it, not the turn that logs
    nudges = await answered(bot)
    assert [k for k, v in nudges.items() if v] == [(k[0], "Contoso Pharma") for k in nudges if k[0].startswith("Adele")]
    assert not any(v for (person, _), v in nudges.items() if person.startswith("Megan")), "Megan logged nothing"
    assert (await scrape(bot))["kambot_nudges_answered{answer=logged,kind=weekly}"] == 1
