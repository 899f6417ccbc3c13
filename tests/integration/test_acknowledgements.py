"""Acknowledgements: 1:1 cards for everyone who must know, the refreshing channel card, reminders, reports."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kam.acknowledgements import carried
from kam.decisions import LogDecision, log_decision
from kam.migrate import upgrade
from kam.models import (
    Account,
    AccountMember,
    Acknowledgement,
    ConversationRef,
    Decision,
    DecisionCategory,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
    Tier,
)
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, served_demo_tenant
from tests.support.flows import (
    DECISION,
    GOOD_INPUT,
    channel_post,
    chat_cards,
    fill,
    invoke_card,
    invoke_message,
    log_in_channel,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot, admin_connection, bot_with_rules, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL, TEAM_ID, TENANT_ID, USERS
from tests.support.workers import chat_of, start_worker

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


# --- several requests to one person within minutes: one card --------------------------------------------

WINDOW = 3.0  # seconds: requests that reach a person within this time of the first go as one card
TITLES = (
    "List price for the second service visit",
    "Price list 2027 takes effect in March",
    "Express delivery charged at 40 EUR",
)


@pytest.fixture
async def batching(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The demo bot, gathering the requests that reach one person within WINDOW seconds of the first."""
    await migrate_and_seed(sqlite_url)
    running = await RunningBot(local_settings(sqlite_url, ack_batch_seconds=WINDOW), connector).start()
    yield running
    await running.stop()


def batch_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The data of each item's Acknowledge button on a card of several requests (in the card's body)."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == "ack.batch":
                found.append(dict(node["data"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("body"))
    return found


async def log_decisions(bot: RunningBot, titles: tuple[str, ...] = TITLES) -> None:
    """Alex logs pricing decisions in Contoso's channel, one after another: the rules ask Megan and Patti."""
    for title in titles:
        await log_in_channel(bot, "log decision", DECISION | {"title": title})


async def cards_after_a_quiet_second(connector: ConnectorFake, user: str, count: int = 1) -> list[dict[str, Any]]:
    """The user's cards, once `count` arrived and then a second passed in which more could have."""
    await connector.wait_for(lambda fake: len(chat_cards(fake, user)) >= count, timeout=WINDOW + 15)
    await asyncio.sleep(1.0)
    return chat_cards(connector, user)


async def requests_of(bot: RunningBot, name: str) -> list[tuple[str, bool, bool]]:
    """(item title, requested, acknowledged) of each decision the person was asked to acknowledge."""
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(Decision.title, Acknowledgement.requested_at, Acknowledgement.acknowledged_at)
            .join(Acknowledgement, Acknowledgement.item_id == Decision.id)
            .join(Person, Person.id == Acknowledgement.person_id)
            .where(Person.name == name)
            .order_by(Decision.id)
        )
        return [(title, requested is not None, done is not None) for title, requested, done in rows.all()]


async def test_three_requests_within_minutes_come_on_one_card_per_person_and_each_is_acknowledged_on_it(
    batching: RunningBot, connector: ConnectorFake
) -> None:
    bot = batching
    started = time.monotonic()
    await log_decisions(bot)
    megans = await cards_after_a_quiet_second(connector, "megan")
    arrived = time.monotonic() - 1.0
    pattis = await cards_after_a_quiet_second(connector, "patti")
    assert len(megans) == 1 and len(pattis) == 1, "one card each for the three, not three cards each"
    assert WINDOW - 0.3 <= arrived - started <= WINDOW + 3, "sent when the window of the first request is over"
    card = megans[0]
    assert all(title in texts_in(card) for title in TITLES) and all(title in texts_in(pattis[0]) for title in TITLES)
    assert "3 items to acknowledge" in texts_in(card) and "Still to acknowledge: 3 of 3" in texts_in(card)
    assert texts_in(card).count("Decision · Contoso Pharma") == 3
    assert texts_in(card).count("Why you: the rules name you for") == 3, "why, for each item"
    assert "Why you: the rules name you for pricing decisions." in texts_in(pattis[0])
    assert len(batch_buttons(card)) == 3 and card["refresh"]["userIds"] == [USERS["megan"].teams_user_id]

    answered = invoke_card(await bot.send(bot.teams.execute(batch_buttons(card)[1], user="megan")))
    assert "Still to acknowledge: 2 of 3" in texts_in(answered) and len(batch_buttons(answered)) == 2
    assert f"You acknowledged this on {TODAY}." in texts_in(answered)
    assert await requests_of(bot, "Megan Bowen") == [
        (TITLES[0], True, False),
        (TITLES[1], True, True),
        (TITLES[2], True, False),
    ]
    post = channel_post(connector, CONTOSO_CHANNEL, TITLES[1])
    seen = invoke_card(await bot.send(bot.teams.execute(post["refresh"]["action"]["data"], user="patti")))
    assert f"Acknowledged by Megan Bowen ({TODAY})" in texts_in(seen), "acknowledged from the card, seen on the item"

    again = invoke_card(await bot.send(bot.teams.execute(card["refresh"]["action"]["data"], user="megan")))
    assert "Still to acknowledge: 2 of 3" in texts_in(again), "her card, refreshed, as it is now"
    not_hers = invoke_card(await bot.send(bot.teams.execute(card["refresh"]["action"]["data"], user="patti")))
    assert "Nothing on this card is waiting for you any more." in texts_in(not_hers)
    assert not any(title in texts_in(not_hers) for title in TITLES), "someone else's card shows them nothing of it"
    for rest in batch_buttons(answered):
        last = invoke_card(await bot.send(bot.teams.execute(rest, user="megan")))
    assert "You have acknowledged all of them. Thank you." in texts_in(last) and batch_buttons(last) == []
    assert await requests_of(bot, "Megan Bowen") == [(title, True, True) for title in TITLES]
    assert await requests_of(bot, "Patti Fernandez") == [(title, True, False) for title in TITLES]
    assert_valid_cards([card, pattis[0], answered, again, not_hers, last])


async def test_requests_further_apart_than_the_window_come_on_cards_of_their_own_each_within_it(
    batching: RunningBot, connector: ConnectorFake
) -> None:
    bot = batching
    for count, title in enumerate(TITLES[:2], start=1):
        started = time.monotonic()
        await log_decisions(bot, (title,))
        await connector.wait_for(lambda fake: len(chat_cards(fake, "megan")) >= count, timeout=WINDOW + 15)
        assert time.monotonic() - started <= WINDOW + 3, "a request alone goes when its window is over, not later"
    first, second = await cards_after_a_quiet_second(connector, "megan", 2)
    assert TITLES[0] in texts_in(first) and TITLES[1] not in texts_in(first)
    assert TITLES[1] in texts_in(second) and TITLES[0] not in texts_in(second)
    assert "ack" in [a.get("verb") for a in second.get("actions") or []], "one request: the item's own card"
    assert batch_buttons(second) == []
    assert len(chat_cards(connector, "patti")) == 2


async def test_more_requests_than_a_card_holds_go_on_the_next_card_right_after_it(
    batching: RunningBot, connector: ConnectorFake
) -> None:
    bot = batching
    await bot.send(bot.teams.message("help", user="megan"))  # her chat with kambot is known from here on
    await fill(bot, contacts=0, decisions=12)
    cards = [c for c in await cards_after_a_quiet_second(connector, "megan", 3) if batch_buttons(c)]
    assert [len(batch_buttons(c)) for c in cards] == [10, 2], "ten on a card, the other two on the next"
    named = [f"Decision {i}" for i in range(12) if any(f"Decision {i}\n" in texts_in(c) + "\n" for c in cards)]
    assert len(named) == 12, "each of the twelve on one of them"
    assert_valid_cards(cards)


async def test_a_confidential_contact_on_the_card_shows_its_details_only_where_the_reader_may_read_them(
    batching: RunningBot, connector: ConnectorFake
) -> None:
    """Megan is asked about a confidential contact and a decision: her 1:1 card has the contact's details; the same
    button pressed where others read along (a replay into the channel) answers without them."""
    bot = batching
    await log_in_channel(bot, "log contact", GOOD_INPUT | {"confidential": "true"})
    await log_decisions(bot, TITLES[:1])
    card = (await cards_after_a_quiet_second(connector, "megan"))[0]
    assert "Customer contact · Contoso Pharma" in texts_in(card) and TITLES[0] in texts_in(card)
    assert GOOD_INPUT["summary"] in texts_in(card), "in her chat, what the access policy lets her read"
    decision = next(b for b in batch_buttons(card) if b["item_kind"] == "decision")
    shared = invoke_card(await bot.send(bot.teams.execute(decision, user="megan", where=CONTOSO_CHANNEL)))
    assert GOOD_INPUT["summary"] not in texts_in(shared)
    assert "Confidential contact: details are kept in kambot" in texts_in(shared)
    assert_valid_cards([card, shared])


async def test_a_card_whose_post_fails_is_sent_again_with_the_same_requests_and_nothing_is_lost(
    batching: RunningBot, connector: ConnectorFake
) -> None:
    """What a card carries stays with its outbox row: Teams answering 502 to every try of the first post does
    not let another row take its requests, nor lose them; the card goes once it can, with all of them."""
    bot = batching
    await bot.send(bot.teams.message("help", user="megan"))  # her chat with kambot is known from here on
    connector.fail_next(502, times=4, conversation="a:personal-megan")
    await log_decisions(bot)
    megans = [c for c in await cards_after_a_quiet_second(connector, "megan", 2) if batch_buttons(c)]
    assert len(megans) == 1 and all(title in texts_in(megans[0]) for title in TITLES)
    assert not connector.faults, "the post did fail, four times"
    async with bot.db.transaction() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.ACK_REQUEST)))
    megans_acks = await asked(bot, "Megan Bowen")
    hers = [r for r in rows if r.subject_id in megans_acks]
    carrying = [carried(r) for r in hers if carried(r)]
    assert len(carrying) == 1 and sorted(carrying[0] or []) == sorted(megans_acks), "one row carried all three"
    assert all(r.status == OutboxStatus.SENT for r in hers) and max(r.attempts for r in hers) == 2


async def asked(bot: RunningBot, name: str) -> set[int]:
    """The ids of the person's acknowledgements."""
    async with bot.db.transaction() as session:
        query = select(Acknowledgement.id).join(Person, Person.id == Acknowledgement.person_id)
        return set(await session.scalars(query.where(Person.name == name)))


async def test_requests_queued_one_card_each_before_an_upgrade_are_still_delivered(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    """Rows an earlier kambot queued (one per acknowledgement, due at once, carrying nothing yet) go out as well."""
    await migrate_and_seed(sqlite_url)
    db = Database(sqlite_url)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    async with db.transaction() as session:
        alex = await session.scalar(select(Person).where(Person.name == "Alex Wilber"))
        contoso = await session.scalar(select(Account.id).where(Account.name == "Contoso Pharma"))
        assert alex is not None and contoso is not None
        for n, title in enumerate(TITLES):
            key = f"{n:032d}"
            command = LogDecision(contoso, alex, key, title, DecisionCategory.PRICING, "x", "Megan", dt.date.today())
            await log_decision(session, command)
        for ack in await session.scalars(select(Acknowledgement)):
            ack.created_at = an_hour_ago
        queued = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.ACK_REQUEST)))
        assert len(queued) == 6 and all(r.detail is None for r in queued), "the shape an earlier kambot wrote"
    await db.close()
    bot = await RunningBot(local_settings(sqlite_url, ack_batch_seconds=WINDOW), connector).start()
    try:
        await bot.send(bot.teams.message("help", user="megan"))  # kambot learns its way to the tenant's chats
        megans = [c for c in await cards_after_a_quiet_second(connector, "megan", 2) if batch_buttons(c)]
        pattis = await cards_after_a_quiet_second(connector, "patti")
    finally:
        await bot.stop()
    assert len(megans) == len(pattis) == 1, "asked an hour ago: no waiting, one card each"
    assert all(title in texts_in(megans[0]) and title in texts_in(pattis[0]) for title in TITLES)


async def test_a_card_of_several_requests_comes_with_one_activity_feed_notification(tmp_path: Path) -> None:
    async with served_demo_tenant(tmp_path) as (url, graph, connector):
        settings = local_settings(
            url,
            ack_batch_seconds=WINDOW,
            kam_team_ids=TEAM_ID,
            teams_app_id=graph.bot_app_id,
            graph_base_url=f"{graph.url}/v1.0",
            graph_client_id=graph.entra_app_id,
        )
        bot = await RunningBot(settings, connector, FakeGraphCredential({"User.ReadBasic.All"})).start()
        patti = USERS["patti"].aad_object_id
        try:
            await log_decisions(bot)
            await cards_after_a_quiet_second(connector, "patti")
            deadline = time.monotonic() + 10
            while not graph.notifications_to(patti) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # time for a second notification, if there were one
            await bot.settle()
        finally:
            await bot.stop()
        sent = graph.notifications_to(patti)
        assert len(chat_cards(connector, "patti")) == 1 and len(sent) == 1, "one card, one notification"
        assert sent[0].body["activityType"] == "acknowledgeRequested"
        assert sent[0].parameters == {"account": "Contoso Pharma", "item": "3 items"}
        assert sent[0].body["previewText"]["content"] == "Select to open them in your chat and acknowledge each one."
        assert not any(title in json.dumps(sent[0].body) for title in TITLES), "nothing anyone wrote"


# --- several senders at once, on PostgreSQL ---------------------------------------------------------------

CROWD = 20
CROWD_CHANNEL = "19:crowd@thread.tacv2"
# Senders waiting for the requests' rows to gather them (the sweep's reminders skip locked rows, never wait).
GATHERING = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
    AND (query LIKE 'SELECT acknowledgements.%' OR query LIKE 'UPDATE acknowledgements %')"""


async def ask_a_crowd(url: str, connector: ConnectorFake, items: int) -> None:
    """CROWD KA managers of one account, each with a chat kambot knows, asked to acknowledge `items` decisions.

    Each decision queues its requests person by person, so that one person's rows lie far apart in the
    outbox and two senders claiming at once each hold some of them."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.transaction() as session:
        crowd = [
            Person(aad_object_id=f"crowd-{i}", teams_user_id=f"29:crowd-{i}", name=f"Member {i:02d}")
            for i in range(CROWD)
        ]
        for i, person in enumerate(crowd):
            person.chat_id = chat_of(i)
        author = Person(aad_object_id="crowd-author", teams_user_id="29:crowd-author", name="Author")
        references = [(chat_of(i), "personal") for i in range(CROWD)] + [(CROWD_CHANNEL, "channel")]
        session.add_all(
            ConversationRef(
                conversation_id=conversation,
                tenant_id=TENANT_ID,
                service_url=connector.url,
                conversation_type=kind,
                team_id="crowd-team" if kind == "channel" else None,
            )
            for conversation, kind in references
        )
        members = [AccountMember(person=p, role=Role.MANAGER) for p in crowd]
        account = Account(
            name="Crowd account",
            tier=Tier.KEY_ACCOUNT,
            team_id="crowd-team",
            channel_id=CROWD_CHANNEL,
            members=[*members, AccountMember(person=author, role=Role.MEMBER)],
        )
        session.add(account)
        await session.flush()
    for n in range(items):
        async with db.transaction() as session:
            title, key, today = f"Crowd decision {n}", f"c{n:031d}", dt.date.today()
            command = LogDecision(account.id, author, key, title, DecisionCategory.SERVICE, "x", "Author", today)
            await log_decision(session, command)
    await db.close()


async def test_two_senders_at_once_send_each_person_one_card_with_every_request(
    fresh_postgres: str, connector: ConnectorFake
) -> None:
    """Two workers claim at the same moment, each holding rows of the same people, and both gather their requests:
    the test holds the requests' rows until both wait for them (then the window is over too), and lets go."""
    await ask_a_crowd(fresh_postgres, connector, 3)
    asked_at = time.monotonic()
    holder, watcher = await admin_connection(fresh_postgres), await admin_connection(fresh_postgres)
    holding = holder.transaction()
    await holding.start()
    await holder.fetch("SELECT id FROM acknowledgements FOR UPDATE")
    workers = [start_worker(fresh_postgres, ack_batch_seconds=str(WINDOW)) for _ in range(2)]
    try:
        waiting = 0
        deadline = time.monotonic() + 40
        while (waiting < 2 or time.monotonic() < asked_at + WINDOW) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            waiting = await watcher.fetchval(GATHERING)
        assert waiting == 2, "both workers wait to gather the same people's requests"
        await holding.commit()

        def everyone_has_one(fake: ConnectorFake) -> bool:
            return all(any(r.cards for r in fake.in_conversation(chat_of(i))) for i in range(CROWD))

        await connector.wait_for(everyone_has_one, timeout=30)
        await asyncio.sleep(1.5)  # time for a second card, if there were one
    finally:
        await holder.close()
        await watcher.close()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [await asyncio.to_thread(worker.communicate, timeout=20) for worker in workers]
    assert all(w.returncode == 0 and "Traceback" not in out for w, (out, _) in zip(workers, outputs, strict=True))
    for i in range(CROWD):
        cards = [card for r in connector.in_conversation(chat_of(i)) for card in r.cards]
        assert len(cards) == 1, f"Member {i:02d} got {len(cards)} cards"
        assert all(f"Crowd decision {n}" in texts_in(cards[0]) for n in range(3)), f"Member {i:02d}: one missing"
    db = Database(fresh_postgres)
    async with db.transaction() as session:
        acks = list(await session.scalars(select(Acknowledgement)))
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.ACK_REQUEST)))
    await db.close()
    assert len(acks) == 3 * CROWD and all(a.requested_at is not None for a in acks)
    assert all(r.status == OutboxStatus.SENT for r in rows)
    on_cards = [ack_id for r in rows for ack_id in carried(r) or []]
    assert sorted(on_cards) == sorted(a.id for a in acks), "every request on exactly one card"
