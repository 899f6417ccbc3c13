"""Pre-meeting briefs: calendars read through msgraph-sdk from the Graph fake, one brief per customer meeting and
person an hour before it, with what the account team knows, confidential contacts for their insiders only."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from kam.models import Account, AccountMember, MeetingBrief, OutboxMessage, Person
from kam.outbox import OutboxKind
from tests.support.calendars import HANNA, MARIA, World, calendar_bot, calendar_reads, calendars, mailbox, us
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, GraphFake
from tests.support.flows import (
    GOOD_INPUT,
    action_data,
    chat_cards,
    choice_value,
    form_from_channel,
    invoke_card,
    texts_in,
)
from tests.support.harness import RunningBot, migrate_and_seed

JONAS = ("Jonas Weber", "jonas.weber@eu.contoso-pharma.example")  # added as a stakeholder below
LENA = ("Lena Koch", "lena.koch@contoso-pharma.example")  # nobody we know
TITLE, TITLE_DE = "Before your meeting: Contoso Pharma", "Vor Ihrem Termin: Contoso Pharma"
TODAY = dt.date.today()


def later(minutes: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=minutes)


def day(days_ago: int) -> str:
    return (TODAY - dt.timedelta(days=days_ago)).isoformat()


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    async with calendars() as fake:
        yield fake


@pytest.fixture
async def world(sqlite_url: str, graph: GraphFake, connector: ConnectorFake) -> AsyncIterator[World]:
    await migrate_and_seed(sqlite_url)
    bot = await calendar_bot(sqlite_url, graph, connector)
    yield World(bot, graph, connector)
    await bot.stop()


def briefs_to(connector: ConnectorFake, user: str) -> list[dict[str, Any]]:
    return [c for c in chat_cards(connector, user) if TITLE in texts_in(c) or TITLE_DE in texts_in(c)]


async def claimed(bot: RunningBot) -> list[tuple[str, str]]:
    """Who has a brief claimed for which meeting (by subject)."""
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(Person.name, MeetingBrief.subject).join(Person, Person.id == MeetingBrief.person_id)
        )
        return sorted((name.split()[0].lower(), subject) for name, subject in rows)


async def until_claimed(bot: RunningBot, count: int, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        if len(await claimed(bot)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {count} briefs claimed: {await claimed(bot)}")


def reschedule(graph: GraphFake, key: str, **fields: Any) -> None:
    """The organiser changes the meeting: every attendee's calendar shows it."""
    for events in graph.calendars.values():
        for event in events:
            if event["iCalUId"] == key:
                event.update(fields)


async def fill_in_channel(bot: RunningBot, command: str, form_title: str, values: dict[str, str], user: str) -> str:
    """Type a command in Contoso's channel and submit the form it brings to the 1:1 chat; what the answer card
    says."""
    form = await form_from_channel(bot, command, user=user)
    assert form_title in texts_in(form)
    values = {k: choice_value(form, k, v[1:]) if v.startswith("=") else v for k, v in values.items()}
    submitted = bot.teams.execute(action_data(form) | values, user=user)
    answer = invoke_card(await bot.send(submitted))
    await bot.settle()
    return texts_in(answer)


async def add_stakeholder(bot: RunningBot, **values: str) -> None:
    added = await fill_in_channel(bot, "add stakeholder", "Add a stakeholder", values, "alex")
    assert "Stakeholder added" in added


async def log_contact(bot: RunningBot, user: str, **values: str) -> None:
    """A contact with the good input of the flows, changed by `values` (an input "=Name": the option of that name)."""
    logged = await fill_in_channel(bot, "log contact", "Log a customer contact", GOOD_INPUT | values, user)
    assert "Contact logged" in logged


async def log_decision(bot: RunningBot, user: str, **values: str) -> None:
    values = {"decided_by": "the team", "effective_on": day(0), **values}
    assert values["title"] in await fill_in_channel(bot, "log decision", "Log a decision", values, user)


async def test_each_of_our_attendees_on_the_team_gets_one_brief_with_what_the_team_knows(
    database_url: str, graph: GraphFake, connector: ConnectorFake
) -> None:
    """On SQLite (one instance, as the README says) and on PostgreSQL with two, reading the calendars again and
    again."""
    await migrate_and_seed(database_url)
    bot = await calendar_bot(database_url, graph, connector)
    instances = [bot]
    if database_url.startswith("postgresql"):
        instances.append(await RunningBot(bot.settings, connector, graph_credential=FakeGraphCredential()).start())
    try:
        # Adele's Teams speaks German, in Berlin; Patti paused her nudges.
        adele_says = bot.teams.message("hilfe", user="adele", locale="de-DE") | {"localTimezone": "Europe/Berlin"}
        await bot.send(adele_says)
        await bot.send(bot.teams.message("pause nudges", user="patti"))
        # What the team knows: a stakeholder, two contacts, a commitment, and a concession after a paid agreement.
        await add_stakeholder(
            bot, name="Jonas Weber", title="Head of Quality", buying_role="technical_influencer", attitude="non_supporter"
        )
        await log_contact(
            bot,
            "alex",
            stakeholders="=Jonas Weber",
            met_on=day(10),
            customer_people="",
            summary="Walked the Leipzig plant with Jonas.",
            we_committed="An offer for the extra visit by Friday.",
            paid_service="Second on-site calibration visit per year",
        )
        await log_contact(
            bot,
            "megan",
            met_on=day(3),
            kind="call",
            customer_people="Dr. Hanna Berger",
            summary="Call about the 2027 volumes.",
            we_committed="",
        )
        await log_decision(
            bot,
            "megan",
            title="Calibration visits for Q1",
            category="service",
            decision="We waive the fee for the calibration visits this quarter.",
        )

        start, end = later(50), later(110)
        ours = [us("adele"), us("alex"), us("patti"), us("isaiah"), us("lynne")]
        graph.add_meeting(
            [mailbox(u) for u in ("adele", "alex", "patti", "isaiah", "lynne")],
            "Quarterly review 2027",
            start,
            end,
            [HANNA, JONAS, LENA, *ours],
        )
        # No briefs for these: internal, cancelled, already begun, three hours ahead, another account's customer.
        graph.add_meeting([mailbox("adele")], "Team lunch", later(30), later(90), [us("adele"), us("alex")])
        graph.add_meeting([mailbox("adele")], "Cancelled visit", later(40), later(70), [HANNA], cancelled=True)
        graph.add_meeting([mailbox("adele")], "Already talking", later(-10), later(20), [HANNA])
        graph.add_meeting([mailbox("adele")], "Afternoon visit", later(180), later(240), [HANNA])
        graph.add_meeting([mailbox("adele")], "Fabrikam call", later(30), later(60), [MARIA])

        await connector.wait_for(lambda c: briefs_to(c, "adele") and briefs_to(c, "alex"), timeout=15)
        await calendar_reads(graph, "adele", at_least=6)  # read again and again: still one each
        await calendar_reads(graph, "isaiah", at_least=3)
        await asyncio.sleep(0.6)
        assert len(briefs_to(connector, "adele")) == 1 and len(briefs_to(connector, "alex")) == 1
        for nobody in ("patti", "isaiah", "lynne", "megan"):
            assert briefs_to(connector, nobody) == [], f"{nobody}: paused, off the team or not invited"
        assert await claimed(bot) == [("adele", "Quarterly review 2027"), ("alex", "Quarterly review 2027")]
        assert not [c for c in graph.calls if c.resource == f"mailbox:{mailbox('lynne')}"], "on no team: not read"

        alex = texts_in(briefs_to(connector, "alex")[0])
        assert "Quarterly review 2027" in alex
        assert f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}" in alex, "UTC: Alex's client told no time zone"
        # The customer's attendees: role and attitude from the stakeholders, when we last met them and who did.
        assert "Jonas Weber\nHead of Quality · Technical influencer · Non-supporter" in alex
        assert f"Last contact {day(10)}, logged by Alex Wilber" in alex
        assert f"Dr. Hanna Berger\nHead of Procurement\nLast contact {day(3)}, logged by Megan Bowen" in alex
        assert "Lena Koch\nNot among the account's stakeholders yet" in alex
        assert "No contact with them logged yet." in alex
        # The latest contacts and decisions, newest first; what we committed to; the open conflict.
        assert alex.index("Calibration visits for Q1") < alex.index("Call about the 2027") < alex.index("Walked the")
        assert f"{day(10)}: An offer for the extra visit by Friday. (Alex Wilber)" in alex
        assert (
            f"Given away free of charge by Megan Bowen ({day(0)}), though the customer agreed to pay for "
            f'"Second on-site calibration visit per year" (Alex Wilber, {day(0)}).'
        ) in alex
        assert "Not relevant" not in alex and "pause nudges" in str(briefs_to(connector, "alex")[0])

        adele = texts_in(briefs_to(connector, "adele")[0])
        berlin = ZoneInfo("Europe/Berlin")
        assert TITLE_DE in adele and "Vom Kunden" in adele and "Offene Konflikte" in adele
        assert f"{start.astimezone(berlin):%Y-%m-%d %H:%M}–{end.astimezone(berlin):%H:%M}" in adele
        assert_valid_cards([briefs_to(connector, "adele")[0], briefs_to(connector, "alex")[0]])
    finally:
        for instance in instances:
            await instance.stop()


async def test_a_meeting_is_briefed_once_its_hour_has_come_not_before(
    sqlite_url: str, graph: GraphFake, connector: ConnectorFake
) -> None:
    await migrate_and_seed(sqlite_url)
    bot = await calendar_bot(sqlite_url, graph, connector)
    try:
        afternoon = later(180)
        graph.add_meeting([mailbox("adele")], "Afternoon visit", afternoon, later(240), [HANNA, us("adele")])
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=8)
        graph.add_meeting([mailbox("adele")], "Plant tour", soon, soon + dt.timedelta(hours=1), [HANNA, us("adele")])
        await calendar_reads(graph, "adele", at_least=3)
        assert dt.datetime.now(dt.UTC) < soon - dt.timedelta(hours=1), "the test ran too slowly to say"
        assert briefs_to(connector, "adele") == [], "more than an hour ahead: not yet"

        await connector.wait_for(lambda c: bool(briefs_to(c, "adele")), timeout=15)
        arrived = dt.datetime.now(dt.UTC)
        assert arrived >= soon - dt.timedelta(hours=1), "not before its hour"
        await calendar_reads(graph, "adele", at_least=12)
        await bot.settle()
        briefs = [texts_in(c) for c in briefs_to(connector, "adele")]
        assert len(briefs) == 1 and "Plant tour" in briefs[0]
        assert await claimed(bot) == [("adele", "Plant tour")], "the afternoon visit comes in its own hour"
    finally:
        await bot.stop()


async def test_what_changes_before_the_brief_goes_counts(
    sqlite_url: str, graph: GraphFake, connector: ConnectorFake
) -> None:
    """Read every 9 seconds: a meeting found a little over an hour ahead is claimed at once, its brief due some
    seconds later, and the calendars are read once more in between."""
    await migrate_and_seed(sqlite_url)
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1, seconds=16)
    hour = dt.timedelta(hours=1)
    called_off = graph.add_meeting(
        [mailbox("adele"), mailbox("megan")], "Called off", soon, soon + hour, [HANNA, us("adele"), us("megan")]
    )
    graph.add_meeting(
        [mailbox(u) for u in ("patti", "alex", "megan")],
        "Price talk",
        soon,
        soon + hour,
        [HANNA, us("patti"), us("alex"), us("megan")],
    )
    moved = graph.add_meeting([mailbox("adele")], "Moved forward", soon, soon + hour, [JONAS, us("adele")])
    bot = await calendar_bot(sqlite_url, graph, connector, meeting_read_minutes=0.15)
    try:
        await until_claimed(bot, 6)
        # Before the briefs are due: the organiser cancels one meeting and moves another to start in half an
        # hour, Patti pauses her nudges, and Alex leaves Contoso's team.
        reschedule(graph, called_off, isCancelled=True)
        earlier = later(30)
        reschedule(graph, moved, start=earlier, end=earlier + hour)
        await bot.send(bot.teams.message("pause nudges", user="patti"))
        async with bot.db.transaction() as session:
            alex = select(Person.id).where(Person.aad_object_id == mailbox("alex"))
            contoso = select(Account.id).where(Account.name == "Contoso Pharma")
            await session.execute(
                delete(AccountMember).where(AccountMember.person_id.in_(alex), AccountMember.account_id.in_(contoso))
            )

        await connector.wait_for(lambda c: bool(briefs_to(c, "megan")), timeout=30)
        await bot.settle()
        await asyncio.sleep(1)
        megan = [texts_in(c) for c in briefs_to(connector, "megan")]
        assert len(megan) == 1 and "Price talk" in megan[0], "not the cancelled meeting"
        assert briefs_to(connector, "patti") == [], "paused before it went"
        assert briefs_to(connector, "alex") == [], "no longer on the team"
        adele = [texts_in(c) for c in briefs_to(connector, "adele")]
        assert len(adele) == 1 and "Moved forward" in adele[0], "not the cancelled meeting"
        assert f"{earlier:%Y-%m-%d %H:%M}–{earlier + hour:%H:%M}" in adele[0], "at its new time"
        async with bot.db.transaction() as session:
            query = select(func.count()).select_from(OutboxMessage)
            rows = await session.scalar(query.where(OutboxMessage.kind == OutboxKind.MEETING_BRIEF))
        assert rows == 6, "each claimed once, however often read"
    finally:
        await bot.stop()


async def test_a_confidential_contact_shows_in_the_briefs_of_its_insiders_only(world: World) -> None:
    bot, graph, connector = world.bot, world.graph, world.connector
    # Alex logs a confidential contact with Adele (a framework agreement in the making); Patti then logs a
    # framework agreement decision, which clashes with it.
    await log_contact(
        bot,
        "alex",
        summary="Secret: they are talking to a second supplier.",
        we_committed="Exclusive price until March.",
        confidential="true",
        framework_agreement="true",
        participants="=Adele Vance",
        customer_people="Dr. Hanna Berger",
    )
    await log_decision(
        bot,
        "patti",
        title="Global framework agreement Europe",
        category="contract",
        decision="We sign the global framework agreement in Frankfurt.",
    )

    people = ("alex", "adele", "megan", "patti")
    graph.add_meeting(
        [mailbox(u) for u in people], "Framework talks", later(50), later(100), [HANNA, *(us(u) for u in people)]
    )
    await connector.wait_for(lambda c: all(briefs_to(c, u) for u in people), timeout=15)
    seen = {u: texts_in(briefs_to(connector, u)[0]) for u in people}
    for insider in ("alex", "adele", "megan"):  # its author, its participant, the KA manager
        assert "Secret: they are talking to a second supplier." in seen[insider]
        assert "Exclusive price until March." in seen[insider]
        assert "Two framework agreements are open: one by Patti Fernandez since" in seen[insider], seen[insider]
    patti = seen["patti"]
    assert "Confidential contact" in patti and "Global framework agreement Europe" in patti
    assert "Secret" not in patti and "second supplier" not in patti and "Exclusive price" not in patti
    assert "Two framework agreements are open at once. One was recorded in a confidential contact" in patti
    assert_valid_cards([briefs_to(connector, u)[0] for u in people])
