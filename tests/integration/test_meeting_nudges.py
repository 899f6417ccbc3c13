"""After-meeting nudges: calendars read through msgraph-sdk from the Graph fake, one nudge per meeting and person."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from kam.models import MeetingNudge
from kam.nudges import set_paused
from kam.people import Caller, find_person
from kam.storage import Database
from tests.support.calendars import HANNA, MARIA, World, calendar_bot, calendar_reads, calendars, mailbox, us
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import GraphFake
from tests.support.flows import (
    chat_cards,
    eventually,
    inputs_of,
    invoke_card,
    invoke_message,
    scrape,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot, migrate_and_seed
from tests.support.teams import USERS

TOM = ("Tom Richter", "tom.richter@eu.contoso-pharma.example")  # a subdomain of the customer's
TITLE = "You met"


def ago(minutes: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=minutes)


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    async with calendars() as fake:
        yield fake


@pytest.fixture
async def world(database_url: str, graph: GraphFake, connector: ConnectorFake) -> AsyncIterator[World]:
    """On SQLite and on PostgreSQL: the locks taken on a nudge differ between the two."""
    await migrate_and_seed(database_url)
    bot = await calendar_bot(database_url, graph, connector)
    yield World(bot, graph, connector)
    await bot.stop()


def meeting_cards(connector: ConnectorFake, user: str) -> list[dict[str, Any]]:
    return [c for c in chat_cards(connector, user) if TITLE in texts_in(c)]


async def nudges(bot: RunningBot) -> list[tuple[int, str, str | None]]:
    async with bot.db.transaction() as session:
        rows = await session.scalars(select(MeetingNudge).order_by(MeetingNudge.id))
        return [(n.person_id, n.subject, n.answer) for n in rows]


async def test_each_of_our_attendees_is_asked_once_about_a_customer_meeting_that_just_ended(world: World) -> None:
    graph, connector = world.graph, world.connector
    start, end = ago(75), ago(15)
    graph.add_meeting(
        [mailbox("adele"), mailbox("alex")], "Service review Leipzig", start, end, [HANNA, TOM, us("adele"), us("alex")]
    )
    # Not customer meetings worth a nudge: internal, cancelled, still going on, long past, another account's.
    graph.add_meeting([mailbox("adele")], "Team lunch", ago(90), ago(30), [us("adele"), us("alex")])
    graph.add_meeting([mailbox("adele")], "Cancelled visit", ago(90), ago(30), [HANNA], cancelled=True)
    graph.add_meeting([mailbox("adele")], "Still talking", ago(20), ago(-40), [HANNA])
    graph.add_meeting([mailbox("adele")], "Last week's visit", ago(60 * 30), ago(60 * 29), [HANNA])
    graph.add_meeting([mailbox("adele")], "Fabrikam call", ago(60), ago(30), [MARIA])

    await connector.wait_for(lambda c: meeting_cards(c, "adele") and meeting_cards(c, "alex"), timeout=10)
    await calendar_reads(graph, "adele", at_least=4)  # read again and again: still one nudge each
    await asyncio.sleep(0.4)
    adele, alex = meeting_cards(connector, "adele"), meeting_cards(connector, "alex")
    assert len(adele) == 1 and len(alex) == 1
    text = texts_in(adele[0])
    assert "You met Dr. Hanna Berger, Tom Richter: log it?" in text
    assert "Contoso Pharma" in text and "Service review Leipzig" in text
    # Graph was asked for UTC times; Adele's client told us no time zone yet, so UTC is shown.
    assert f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}" in text
    assert [s for _, s, _ in await nudges(world.bot)] == ["Service review Leipzig"] * 2
    assert not any(c.resource.startswith("mailbox:") and c.status == 429 for c in graph.calls)


async def test_one_tap_opens_the_contact_form_prefilled_and_logging_it_answers_the_nudge(world: World) -> None:
    bot, connector = world.bot, world.connector
    start = ago(70)
    world.graph.add_meeting(
        [mailbox("adele"), mailbox("alex")], "Price talk", start, ago(10), [HANNA, us("adele"), us("alex")]
    )
    await connector.wait_for(lambda c: meeting_cards(c, "adele") and meeting_cards(c, "alex"), timeout=10)
    nudge = meeting_cards(connector, "adele")[0]
    form = invoke_card(await bot.send(bot.teams.execute(verb_data(nudge, "contact.pick"), user="adele")))
    values = {name: element.get("value") for name, element in inputs_of(form).items()}
    assert values["met_on"] == start.date().isoformat()
    assert values["customer_people"] == "Dr. Hanna Berger" and values["summary"] == "Price talk"
    async with bot.db.transaction() as session:
        alex = await find_person(session, Caller(USERS["alex"].aad_object_id, None, ""))
    assert values["participants"] == str(alex.id), "Alex was there too"  # type: ignore[union-attr]

    submitted = verb_data(form, "contact.save") | {k: v for k, v in values.items() if isinstance(v, str)}
    logged = invoke_card(await bot.send(bot.teams.execute(submitted | {"kind": "meeting"}, user="adele")))
    assert "Price talk" in texts_in(logged)

    # Adele logged it, and named Alex: both nudges count as answered by the next sweep, neither is asked again.
    async def both_answered() -> bool:
        return [a for _, _, a in await nudges(bot)] == ["logged", "logged"]

    await eventually(both_answered)
    assert [a for _, _, a in await nudges(bot)] == ["logged", "logged"]
    metrics = await scrape(bot)
    assert metrics["kambot_nudges_answered{answer=logged,kind=meeting}"] == 2
    assert metrics["kambot_nudges_sent_total{kind=meeting}"] == 2


async def test_not_relevant_silences_that_meeting_and_only_its_addressee_may_say_so(world: World) -> None:
    bot, connector = world.bot, world.connector
    world.graph.add_meeting([mailbox("adele")], "Coffee at the fair", ago(50), ago(20), [HANNA, us("adele")])
    await connector.wait_for(lambda c: meeting_cards(c, "adele"), timeout=10)
    data = verb_data(meeting_cards(connector, "adele")[0], "nudge.meeting.not_relevant")

    stolen = invoke_message(await bot.send(bot.teams.execute(data, user="alex")))
    assert "opened for someone else" in stolen
    refused = invoke_message(await bot.send(bot.teams.execute(bot.reseal(data, "alex"), user="alex")))
    assert refused == "This card was meant for someone else: nothing changed."
    assert [a for _, _, a in await nudges(bot)] == [None], "someone else's click changes nothing"
    forged = invoke_message(await bot.send(bot.teams.execute(data | {"nudge_id": "1; drop"}, user="adele")))
    assert forged and [a for _, _, a in await nudges(bot)] == [None]

    done = invoke_card(await bot.send(bot.teams.execute(data, user="adele")))
    assert "won't ask about this meeting again" in texts_in(done) and "Coffee at the fair" in texts_in(done)
    assert [a for _, _, a in await nudges(bot)] == ["not_relevant"]
    await calendar_reads(world.graph, "adele", at_least=6)
    assert len(meeting_cards(connector, "adele")) == 1, "the meeting is still in her calendar, never asked again"
    assert (await scrape(bot))["kambot_nudges_answered{answer=not_relevant,kind=meeting}"] == 1


async def test_no_nudge_for_a_meeting_already_logged_or_to_someone_who_paused(
    sqlite_url: str, graph: GraphFake, connector: ConnectorFake
) -> None:
    await migrate_and_seed(sqlite_url)
    db = Database(sqlite_url)
    async with db.transaction() as session:
        patti = await find_person(session, Caller(USERS["patti"].aad_object_id, None, ""))
        set_paused(patti, True)  # type: ignore[arg-type]
    await db.close()
    bot = await calendar_bot(sqlite_url, graph, connector)
    try:
        # Megan logged today's visit before the bot got to her calendar.
        await bot.send(bot.teams.message("log contact", user="megan"))
        form = chat_cards(connector, "megan")[-1]  # on one account only: the form straight away
        visit = {"summary": "Visit", "kind": "visit", "met_on": ago(0).date().isoformat(), "customer_people": "Hanna"}
        logged = invoke_card(await bot.send(bot.teams.execute(verb_data(form, "contact.save") | visit, user="megan")))
        assert "Contact logged: Contoso Pharma" in texts_in(logged)
        graph.add_meeting([mailbox("megan"), mailbox("patti")], "Visit", ago(60), ago(5), [HANNA, us("megan")])
        graph.add_meeting([mailbox("adele")], "Call", ago(40), ago(5), [HANNA])
        await connector.wait_for(lambda c: meeting_cards(c, "adele"), timeout=10)
        await calendar_reads(graph, "megan", at_least=4)
        await bot.settle()
        assert meeting_cards(connector, "megan") == [], "she logged it already"
        assert meeting_cards(connector, "patti") == [], "paused"
        assert not [c for c in graph.calls if c.resource == f"mailbox:{mailbox('patti')}"], "not even read"
    finally:
        await bot.stop()


async def test_throttling_and_refusals_from_graph_are_survived_and_counted(world: World) -> None:
    graph, connector = world.graph, world.connector
    graph.calendar_denied.add(mailbox("isaiah"))  # the admin's access policy leaves him out
    graph.fail(429, times=2, path_contains=f"/users/{mailbox('adele')}/calendarView")
    graph.add_meeting([mailbox("adele")], "Quarterly review", ago(60), ago(1), [HANNA, us("adele")])
    await connector.wait_for(lambda c: meeting_cards(c, "adele"), timeout=15)

    def asked() -> list[Any]:
        return [c for c in graph.calls if c.resource == f"mailbox:{mailbox('isaiah')}"]

    def refused() -> list[Any]:  # a sweep may have read his calendar before the policy excluded him
        return [c for c in asked() if c.status == 403]

    failed = "kambot_calendar_reads_total{outcome=failed}"
    for _ in range(100):  # the sweep reads the calendars one after another: Isaiah's may come after Adele's card
        metrics = await scrape(world.bot)
        if refused() and metrics.get(failed, 0) >= 1:
            break
        await asyncio.sleep(0.1)
    assert metrics["kambot_graph_throttled_total"] == 2
    assert metrics[failed] >= 1, "Isaiah's calendar could not be read"
    asked_before = len(asked())
    await asyncio.sleep(0.7)
    assert len(refused()) == 1, "refused once"
    assert len(asked()) == asked_before, "not asked again every sweep: a day later"
