"""The weekly digest: one per person and week across all their accounts, on their day, at their hour;
what is new, what waits for them, one tap to log; each person chooses the day or turns it off."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from kam.contacts import LogContact, log_contact
from kam.models import Account, ContactKind, DigestSent, NudgeSent, Person
from kam.nudges import WEEKDAYS, set_paused, week_of
from kam.people import Caller, find_person
from kam.storage import Database
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import (
    DECISION,
    action_data,
    chat_cards,
    choice_value,
    eventually,
    form_from_channel,
    invoke_card,
    save,
    scrape,
    texts_in,
)
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, USERS

TODAY = WEEKDAYS[dt.datetime.now(dt.UTC).weekday()]
TITLE = "Your week on your key accounts"


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


async def digest_bot(database_url: str, connector: ConnectorFake, day: str) -> RunningBot:
    """A bot whose default digest day is `day` ("off": none), from midnight, in UTC for everyone."""
    settings = local_settings(database_url, nudge_weekday=day, nudge_hour=0, outbox_sweep_seconds=0.3)
    return await RunningBot(settings, connector).start()


@pytest.fixture
async def digesting(prepared: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    bot = await digest_bot(prepared, connector, TODAY)
    yield bot
    await bot.stop()


@pytest.fixture
async def no_default_day(prepared: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    bot = await digest_bot(prepared, connector, "off")
    yield bot
    await bot.stop()


def said_to(connector: ConnectorFake, user: str) -> str:
    """The last text kambot said in the user's 1:1 chat (a card may have come since)."""
    said = [r.activity.get("text") for r in connector.in_conversation(f"a:personal-{user}")]
    return str([text for text in said if text][-1])


def digests_to(connector: ConnectorFake, user: str, title: str = TITLE) -> list[str]:
    return [texts_in(c) for c in chat_cards(connector, user) if title in texts_in(c)]


async def test_each_member_gets_one_digest_across_all_their_accounts_unless_paused(
    digesting: RunningBot, connector: ConnectorFake
) -> None:
    bot = digesting
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant

    def everyone_told(fake: ConnectorFake) -> bool:
        return all(digests_to(fake, u) for u in ("megan", "adele", "isaiah", "alex"))

    await connector.wait_for(everyone_told, timeout=10)
    await asyncio.sleep(1.2)  # more sweeps: nothing twice
    for user in ("megan", "adele", "isaiah", "alex"):
        assert len(digests_to(connector, user)) == 1, user
    alexs = digests_to(connector, "alex")[0]
    assert "You logged nothing this week for Fabrikam Logistics." in alexs, "Contoso not: he logged this week"
    assert "Anything to log" not in alexs and "Nothing waits for you." in alexs
    assert digests_to(connector, "patti") == [], "paused"
    megans = digests_to(connector, "megan")[0]
    assert "Contoso Pharma" in megans and "Contacts logged by colleagues: 1. Decisions: 0." in megans
    async with bot.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(DigestSent)) == 4
        assert await session.scalar(select(func.count()).select_from(NudgeSent)) == 4, "one per quiet account"
    assert_valid_cards(chat_cards(connector, "alex"))


async def test_the_digest_says_what_is_new_and_what_waits_and_one_tap_logs(
    no_default_day: RunningBot, connector: ConnectorFake
) -> None:
    bot = no_default_day
    form = await form_from_channel(bot, "log decision")
    told_by = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    adele = choice_value(form, "communicator", "Adele Vance")
    data = action_data(form) | DECISION | {"communicator": adele, "communicate_by": told_by}
    assert "Decision logged" in texts_in(invoke_card(await bot.send(bot.teams.execute(data))))
    await asyncio.sleep(1)
    assert digests_to(connector, "adele") == [] and digests_to(connector, "megan") == [], "no day: no digest"

    for user in ("adele", "megan"):
        await bot.send(bot.teams.message(f"digest {TODAY}", user=user))
        said = said_to(connector, user)
        assert said.startswith("Your weekly digest now comes every ") and said.endswith("day."), said
    await connector.wait_for(
        lambda fake: bool(digests_to(fake, "adele")) and bool(digests_to(fake, "megan")), timeout=10
    )

    adeles = digests_to(connector, "adele")[0]
    assert "Contacts logged by colleagues: 1. Decisions: 1." in adeles and "• Second service visit is paid" in adeles
    assert f'Contoso Pharma: tell the customer about "Second service visit is paid" by {told_by}' in adeles
    megans = digests_to(connector, "megan")[0]
    assert "Waiting for you (2)" in megans
    assert 'Contoso Pharma: "Second service visit is paid", to acknowledge' in megans
    assert f"Contoso Pharma: Call on {dt.date.today().isoformat()}, to acknowledge" in megans

    card = next(c for c in chat_cards(connector, "adele") if TITLE in texts_in(c))
    tap = next(a for a in card["actions"] if a["title"] == "Log a contact")
    await bot.send(bot.teams.message(tap["data"]["msteams"]["value"], user="adele"))
    form = chat_cards(connector, "adele")[-1]
    assert "Log a customer contact: Contoso Pharma" in texts_in(form), "Adele has one account: its form at once"
    assert_valid_cards([card, form])


async def test_each_person_chooses_the_day_or_turns_the_digest_off(prepared: str, connector: ConnectorFake) -> None:
    other = WEEKDAYS[(WEEKDAYS.index(TODAY) + 1) % 7]
    bot = await digest_bot(prepared, connector, "off")  # choosing, before any digest is due
    try:
        await bot.send(bot.teams.message("digest off", user="megan"))
        assert "Your weekly digest is off." in said_to(connector, "megan")
        await bot.send(bot.teams.message(f"digest {other}", user="adele"))
        await bot.send(bot.teams.message("digest someday", user="isaiah"))
        assert '"someday" is no weekday I know.' in said_to(connector, "isaiah")
        await bot.send(bot.teams.message("digest [click](https://evil.example) **now** " + "x" * 80, user="isaiah"))
        echo = said_to(connector, "isaiah").split('"')[1]
        assert len(echo) <= 40 and not set("[]()*<>") & set(echo), echo
        await bot.send(bot.teams.message("übersicht", user="alex", locale="de-DE"))
        assert "am Tag Ihres Teams" in said_to(connector, "alex")
    finally:
        await bot.stop()

    bot = await digest_bot(prepared, connector, TODAY)  # today is the team's day
    try:
        in_german = "Ihre Woche mit Ihren Key Accounts"  # Alex's Teams speaks German now
        await connector.wait_for(
            lambda c: bool(digests_to(c, "isaiah")) and bool(digests_to(c, "alex", in_german)), timeout=10
        )
        await asyncio.sleep(1.2)
        assert digests_to(connector, "megan") == [] and digests_to(connector, "adele") == []
        async with bot.db.transaction() as session:
            days = dict((await session.execute(select(Person.name, Person.digest_day))).all())
        assert days["Megan Bowen"] == "off" and days["Adele Vance"] == other and days["Isaiah Langer"] is None
    finally:
        await bot.stop()


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
    """Each weekly question sent, by (member, account): whether it counts as answered."""
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(Person.name, Account.name, NudgeSent.answered_at)
            .join(Person, Person.id == NudgeSent.person_id)
            .join(Account, Account.id == NudgeSent.account_id)
        )
        return {(person, account): moment is not None for person, account, moment in rows.all()}


async def test_logging_after_the_digest_answers_it_for_that_account_only(
    digesting: RunningBot, connector: ConnectorFake
) -> None:
    bot = digesting
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))
    await connector.wait_for(
        lambda fake: bool(digests_to(fake, "adele")) and bool(digests_to(fake, "megan")), timeout=10
    )
    await bot.send(bot.teams.message("log contact", user="adele"))
    form = chat_cards(connector, "adele")[-1]
    logged = invoke_card(await save(bot, form, user="adele"))
    assert "Contoso Pharma" in texts_in(logged)

    async def adeles_answered() -> bool:
        return any(answer for (person, _), answer in (await answered(bot)).items() if person.startswith("Adele"))

    await eventually(adeles_answered)  # the sweep marks it, not the turn that logs
    nudges = await answered(bot)
    assert [k for k, v in nudges.items() if v] == [(k[0], "Contoso Pharma") for k in nudges if k[0].startswith("Adele")]
    assert not any(v for (person, _), v in nudges.items() if person.startswith("Megan")), "Megan logged nothing"
    assert (await scrape(bot))["kambot_nudges_answered{answer=logged,kind=weekly}"] == 1


async def test_upgrading_on_digest_day_after_the_weekly_nudges_went_sends_the_digests_all_the_same(
    prepared: str, connector: ConnectorFake
) -> None:
    """The nudges of this week went before the upgrade: their rows stay, the digest still goes."""
    db = Database(prepared)
    async with db.transaction() as session:
        megan = await find_person(session, Caller(USERS["megan"].aad_object_id, None, ""))
        assert megan is not None
        session.add(NudgeSent(person_id=megan.id, account_id=1, week=week_of(dt.datetime.now(dt.UTC))))
    await db.close()
    bot = await digest_bot(prepared, connector, TODAY)
    try:
        await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant
        await connector.wait_for(
            lambda fake: bool(digests_to(fake, "megan")) and bool(digests_to(fake, "adele")), timeout=10
        )
    finally:
        await bot.stop()
