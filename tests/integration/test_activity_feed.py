"""Activity feed notifications: after each 1:1 card that asks something, a pointer to it in the person's Teams feed.

The Graph fake is the tenant (demo_tenant: the demo's team with its members and kambot installed, the RSC
grants of that installation) and refuses what Graph refuses: undeclared activity types, topics that are
not Teams links, recipients outside the team, a team that has not granted TeamsActivity.Send.Group, and
more than 5 notifications a second or 10 a minute to one person (429 with Retry-After).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.admin.doctor import activity_feed_checks
from bot.admin.graph_access import graph_gateway
from bot.metrics import Metrics
from bot.outbox.address import Feed
from bot.outbox.feed import ActivityFeed, FeedOutcome
from bot.settings import Settings
from graph.activity_feed import ActivityNotification, Notified
from graph.client import make_client
from graph.gateway import GraphFailure, TeamsGateway
from graph.limits import NotNow
from kam.models import Account, AccountMember, ConversationRef, OutboxMessage, OutboxStatus, Person, Role, aware
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, GraphFake, SentNotification, served_demo_tenant
from tests.support.flows import (
    DECISION,
    chat_cards,
    log_in_channel,
    open_form,
    save,
    scrape,
    seed_plan,
    start,
    texts_in,
)
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import BOT_ID, CONTOSO_CHANNEL, TEAM_ID, TENANT_ID, USERS

SEND_IN_TEAM = "TeamsActivity.Send.Group"
# What an admin consents to for kambot tenant-wide; the rest comes from each team (resource-specific consent).
ADMIN_CONSENTED = {"User.ReadBasic.All"}


@dataclass
class Tenant:
    url: str
    graph: GraphFake
    connector: ConnectorFake
    folder: Path

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "kam_team_ids": TEAM_ID,
            "teams_app_id": self.graph.bot_app_id,
            "graph_base_url": f"{self.graph.url}/v1.0",
            "graph_client_id": self.graph.entra_app_id,
        }
        return local_settings(self.url, **(values | overrides))

    async def bot(self, **overrides: object) -> RunningBot:
        credential = FakeGraphCredential(ADMIN_CONSENTED)
        return await RunningBot(self.settings(**overrides), self.connector, credential).start()

    def rules(self, yaml: str) -> str:
        path = self.folder / "rules.yaml"
        path.write_text(yaml)
        return str(path)


@pytest.fixture
async def tenant(tmp_path: Path) -> AsyncIterator[Tenant]:
    async with served_demo_tenant(tmp_path) as (url, graph, connector):
        yield Tenant(url, graph, connector, tmp_path)


def aad(user: str) -> str:
    return USERS[user].aad_object_id


def chat_link(graph: GraphFake, tenant_id: str | None = TENANT_ID) -> str:
    query = f"?tenantId={tenant_id}" if tenant_id else ""
    return f"https://teams.microsoft.com/l/entity/{graph.bot_app_id}/conversations{query}"


async def notified(graph: GraphFake, user: str, count: int = 1, timeout: float = 15.0) -> list[SentNotification]:
    """The notifications sent to `user`, once there are `count` (the asserts after it say if there are not)."""
    deadline = time.monotonic() + timeout
    while len(graph.notifications_to(aad(user))) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return graph.notifications_to(aad(user))


def feed_posts(graph: GraphFake) -> list[str]:
    return [c.path for c in graph.calls if c.path.endswith("/sendActivityNotification")]


async def feed_rows(bot: RunningBot) -> list[OutboxMessage]:
    async with bot.db.transaction() as session:
        kind = OutboxMessage.kind == OutboxKind.FEED_NOTIFICATION
        return list(await session.scalars(select(OutboxMessage).where(kind).order_by(OutboxMessage.id)))


async def test_someone_asked_to_acknowledge_gets_the_card_and_a_feed_notification_in_their_language(
    tenant: Tenant,
) -> None:
    bot = await tenant.bot()
    try:
        await bot.send(bot.teams.message("hilfe", user="megan", locale="de-DE"))  # Megan's Teams speaks German
        await log_in_channel(bot, "log decision", DECISION)
        megans, pattis = await notified(tenant.graph, "megan"), await notified(tenant.graph, "patti")
        await bot.settle()
        assert "Zur Kenntnis genommen" in texts_in(chat_cards(tenant.connector, "megan")[-1]), "her card, in German"
        assert len(chat_cards(tenant.connector, "patti")) == 1
    finally:
        await bot.stop()

    assert len(megans) == 1 and len(pattis) == 1, "one notification per card"
    megan = megans[0]
    assert megan.team_id == TEAM_ID, "in the scope of the team that holds the account's channel"
    assert megan.body["activityType"] == "acknowledgeRequested"
    assert megan.body["topic"] == {"source": "text", "value": "Contoso Pharma", "webUrl": chat_link(tenant.graph)}
    assert megan.parameters == {"account": "Contoso Pharma", "item": "eine Entscheidung"}
    preview = megan.body["previewText"]["content"]
    assert preview.startswith("Auswählen, um es in Ihrem Chat zu öffnen") and "Warum Sie:" in preview
    assert len(preview) <= 150
    patti = pattis[0]
    assert patti.parameters == {"account": "Contoso Pharma", "item": "a decision"}
    assert "Why you: the rules name you for pricing decisions" in patti.body["previewText"]["content"]
    # Patti never wrote to kambot: her client's tenant is not known, and the link names none (local mode).
    assert patti.body["topic"]["webUrl"] == chat_link(tenant.graph, None)
    assert DECISION["title"] not in json.dumps([megan.body, patti.body]), "nothing anyone wrote goes into the feed"
    assert not tenant.graph.notifications_to(aad("alex")), "the author is asked nothing"


async def test_a_confidential_accounts_notification_does_not_name_it(tenant: Tenant) -> None:
    """A feed banner shows on screens and lock screens: where others may read along, a confidential account
    is not named (nor why the person is asked, which could tell what it is about)."""
    db = Database(tenant.url)
    async with db.transaction() as session:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        assert contoso is not None
        contoso.confidential = True
    await db.close()
    bot = await tenant.bot()
    try:
        await log_in_channel(bot, "log decision", DECISION)
        pattis = await notified(tenant.graph, "patti")
    finally:
        await bot.stop()
    body = json.dumps(pattis[0].body)
    assert "Contoso" not in body and "pricing" not in body
    assert pattis[0].parameters["account"] == "a confidential account"


async def test_the_reminder_points_to_the_card_again(tenant: Tenant) -> None:
    # About two seconds to the reminder; the KA manager's report much later.
    rules = "tiers:\n  strategic_key_account:\n    acknowledge: {remind_after_hours: 0.0006, report_after_hours: 10}\n"
    bot = await tenant.bot(rules_file=tenant.rules(rules))
    try:
        await log_in_channel(bot, "log decision", DECISION)
        sent = await notified(tenant.graph, "patti", count=2)
    finally:
        await bot.stop()
    assert [n.body["activityType"] for n in sent] == ["acknowledgeRequested", "acknowledgeReminder"]
    assert sent[1].parameters == {"account": "Contoso Pharma", "item": "a decision"}
    assert sent[1].body["previewText"]["content"].startswith("Not acknowledged yet.")
    reminded = [c for c in chat_cards(tenant.connector, "patti") if "Reminder" in texts_in(c)]
    assert len(reminded) == 1, "the reminder card went, and the notification points to it"


async def test_owners_asked_for_a_review_update_get_a_notification_with_the_due_date(tenant: Tenant) -> None:
    bot = await tenant.bot()
    due = dt.date.today() + dt.timedelta(days=7)
    try:
        await seed_plan(bot)
        await start(bot, due)
        adeles, pattis = await notified(tenant.graph, "adele"), await notified(tenant.graph, "patti")
    finally:
        await bot.stop()
    for sent in (adeles, pattis):
        assert len(sent) == 1 and sent[0].body["activityType"] == "reviewRequested"
        assert sent[0].parameters == {"account": "Contoso Pharma"}
        assert f"by {due.isoformat()}" in sent[0].body["previewText"]["content"]
    assert not tenant.graph.notifications_to(aad("megan")), "the KA manager who started it owns no item"


async def test_a_report_of_an_undelivered_message_comes_with_a_notification(tenant: Tenant) -> None:
    bot = await tenant.bot()
    try:
        form, _ = await open_form(bot)
        tenant.connector.fail_next(403, conversation=CONTOSO_CHANNEL)  # the channel refuses kambot's post
        await save(bot, form)
        sent = await notified(tenant.graph, "megan", count=2)
    finally:
        await bot.stop()
    told = [c for c in chat_cards(tenant.connector, "megan") if "Not delivered: Contoso Pharma" in texts_in(c)]
    assert len(told) == 1
    by_type = {n.body["activityType"]: n for n in sent}
    assert set(by_type) == {"acknowledgeRequested", "messageNotDelivered"}, "her card to acknowledge, and the report"
    assert by_type["messageNotDelivered"].parameters == {"account": "Contoso Pharma"}
    assert by_type["messageNotDelivered"].body["topic"]["webUrl"] == chat_link(tenant.graph, None)


async def test_people_missing_from_a_team_are_reported_with_a_notification(tenant: Tenant) -> None:
    bot = await tenant.bot()
    try:
        async with bot.db.transaction() as session:
            people = {p.name: p.id for p in await session.scalars(select(Person))}
            detail = {"people": [people["Patti Fernandez"]]}
            missing = OutboxMessage(
                kind=OutboxKind.MEMBERS_MISSING, subject_id=people["Megan Bowen"], account_id=1, detail=detail
            )
            session.add(missing)
        await bot.send(bot.teams.message("help", user="megan"))  # any turn kicks the outbox
        sent = await notified(tenant.graph, "megan")
    finally:
        await bot.stop()
    assert any("Patti Fernandez" in texts_in(c) for c in chat_cards(tenant.connector, "megan"))
    assert [n.body["activityType"] for n in sent] == ["membersMissing"]
    assert sent[0].body["previewText"]["content"].startswith("1 people of the account team are not in the Teams team")


async def test_without_the_teams_grant_the_cards_still_go_and_the_team_is_not_asked_on_every_card(
    tenant: Tenant,
) -> None:
    tenant.graph.teams[TEAM_ID].rsc.discard(SEND_IN_TEAM)
    bot = await tenant.bot()
    try:
        for _ in range(3):
            await log_in_channel(bot, "log decision", DECISION)
        await bot.settle()
        rows = await feed_rows(bot)
        metrics = await scrape(bot)
    finally:
        await bot.stop()
    assert len(chat_cards(tenant.connector, "megan")) == 3 and len(chat_cards(tenant.connector, "patti")) == 3
    assert tenant.graph.notifications == []
    assert len(feed_posts(tenant.graph)) == 1, "asked once; the refusal is remembered for the team"
    grants_read = [c for c in tenant.graph.calls if c.path.endswith("/permissionGrants")]
    assert len(grants_read) == 1 and grants_read[0].status == 200, "the team's grants say why it refused"
    assert len(rows) == 6 and {r.status for r in rows} == {OutboxStatus.SENT}, "nothing left to retry, nothing failed"
    assert metrics['kambot_feed_notifications_total{outcome=not_granted}'] == 1
    assert metrics['kambot_feed_notifications_total{outcome=skipped}'] == 5
    told = [c for name in ("megan", "patti") for c in chat_cards(tenant.connector, name)]
    assert not any("Not delivered" in texts_in(c) for c in told), "a notification that cannot go is nobody's problem"


async def test_a_person_teams_refuses_in_the_team_does_not_stop_the_others_notifications(tenant: Tenant) -> None:
    # Patti left the team but added kambot for herself: her 1:1 chat works, the team's feed does not reach her.
    team = tenant.graph.teams[TEAM_ID]
    del team.members[aad("patti")]
    tenant.graph.personal_installs.add(aad("patti"))
    bot = await tenant.bot()
    try:
        for _ in range(2):
            await log_in_channel(bot, "log decision", DECISION)
        megans = await notified(tenant.graph, "megan", count=2)
        await bot.settle()
        metrics = await scrape(bot)
    finally:
        await bot.stop()
    assert len(chat_cards(tenant.connector, "patti")) == 2 and not tenant.graph.notifications_to(aad("patti"))
    assert len(megans) == 2
    refused = [c for c in tenant.graph.calls if c.path.endswith("/sendActivityNotification") and c.status == 403]
    assert len(refused) == 1, "Patti is not asked about again"
    assert metrics['kambot_feed_notifications_total{outcome=not_in_team}'] == 1


async def test_someone_marked_not_reachable_in_the_team_is_not_sent_a_notification(tenant: Tenant) -> None:
    # Patti chats with kambot (she added it for herself), then left the team: provisioning marked her not reachable.
    team = tenant.graph.teams[TEAM_ID]
    del team.members[aad("patti")]
    tenant.graph.personal_installs.add(aad("patti"))
    bot = await tenant.bot()
    try:
        await bot.send(bot.teams.message("help", user="patti"))
        async with bot.db.transaction() as session:
            patti = await session.scalar(select(Person).where(Person.name == "Patti Fernandez"))
            assert patti is not None
            patti.unreachable_since, patti.unreachable_reason = dt.datetime.now(dt.UTC), "not in the team"
        await log_in_channel(bot, "log decision", DECISION)
        await notified(tenant.graph, "megan")
        await bot.settle()
    finally:
        await bot.stop()
    assert any("Acknowledge" in texts_in(c) for c in chat_cards(tenant.connector, "patti")), "her card still goes"
    assert [c.status for c in tenant.graph.calls if c.path.endswith("/sendActivityNotification")] == [204]
    assert not tenant.graph.notifications_to(aad("patti")), "Teams would refuse it: it is not even asked"


async def test_one_person_gets_at_most_ten_a_minute_and_the_rest_wait_without_a_single_429(tenant: Tenant) -> None:
    bot = await tenant.bot(outbox_sweep_seconds=30)  # a burst goes at Graph's pace, not from one sweep to the next
    try:
        for _ in range(12):
            await log_in_channel(bot, "log decision", DECISION)
        megans, pattis = await notified(tenant.graph, "megan", 10), await notified(tenant.graph, "patti", 10)
        await asyncio.sleep(1.0)  # a sweep or two: nothing more goes this minute
        await bot.settle()
        rows = await feed_rows(bot)
    finally:
        await bot.stop()
    assert len(chat_cards(tenant.connector, "megan")) == 12 and len(chat_cards(tenant.connector, "patti")) == 12
    assert len(megans) == len(pattis) == 10
    assert [c for c in tenant.graph.calls if c.status == 429] == [], "paced under every limit, all instances together"
    waiting = [r for r in rows if r.status == OutboxStatus.PENDING]
    assert len(waiting) == 4, "two for each of them: owed still, not lost"
    now = dt.datetime.now(dt.UTC)
    due_in = [(aware(r.not_before) - now).total_seconds() for r in waiting]
    assert all(40 < seconds <= 61 for seconds in due_in), "due when the first of the ten has left the minute"
    assert all(r.attempts == 0 and "paced" in (r.last_error or "") for r in waiting), "waiting costs no attempt"


async def test_a_burst_to_a_whole_team_goes_at_graphs_pace_not_from_one_sweep_to_the_next(tenant: Tenant) -> None:
    newcomers = [f"00000000-0000-0000-0000-0000000001{i:02d}" for i in range(9)]
    for i, user_id in enumerate(newcomers):
        tenant.graph.add_user(f"member{i}@example.com", f"Member {i}", user_id, f"29:member-{i}")
        tenant.graph.teams[TEAM_ID].members[user_id] = []
    rules = "accounts:\n  Contoso Pharma:\n    inform:\n      - {about: decision.pricing, inform: [team]}\n"
    bot = await tenant.bot(rules_file=tenant.rules(rules), outbox_sweep_seconds=30)
    try:
        async with bot.db.transaction() as session:
            contoso = await session.get(Account, 1)
            assert contoso is not None
            for i, user_id in enumerate(newcomers):
                # Each chatted with kambot before: their cards go side by side, and their notifications after them.
                chat = ConversationRef(
                    conversation_id=f"a:personal-member-{i}",
                    tenant_id=TENANT_ID,
                    service_url=tenant.connector.url,
                    conversation_type="personal",
                    bot_id=BOT_ID,
                )
                person = Person(aad_object_id=user_id, teams_user_id=f"29:member-{i}", name=f"Member {i}")
                person.chat_id = chat.conversation_id
                session.add_all([chat, AccountMember(account=contoso, person=person, role=Role.MEMBER)])
        started = time.monotonic()
        await log_in_channel(bot, "log decision", DECISION)
        deadline = started + 15
        while len(tenant.graph.notifications) < 12 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await bot.stop()
    sent = tenant.graph.notifications
    assert len(sent) == 12, "everyone on the team but the author, at five a second: seconds, not a sweep of 30"
    assert tenant.graph.throttled() == 0 and busiest([n.at for n in sent]) <= 4, "one team: four a second"


def two_teams() -> GraphFake:
    """Two teams of six people each, kambot installed in both (with their grants)."""
    graph = GraphFake()
    for team_id in ("team-a", "team-b"):
        graph.add_team(team_id).installed_apps.append(graph.bot_app_id)
        for i in range(6):
            graph.teams[team_id].members[graph.add_user(f"{team_id}-{i}@contoso.test")] = []
    return graph


def note(user_id: str, link: str = "https://teams.microsoft.com/l/entity/app/conversations") -> ActivityNotification:
    return ActivityNotification(user_id, "acknowledgeRequested", "Contoso Pharma", link, "Please", (("item", "x"),))


@pytest.fixture
async def feed_world(database_url: str) -> AsyncIterator[tuple[GraphFake, Database, ActivityFeed, Settings]]:
    """The feed on its own against two teams, on SQLite and on PostgreSQL (where instances share the windows)."""
    url = database_url
    await migrate_and_seed(url)
    graph = await two_teams().start()
    db = Database(url)
    settings = local_settings(url, graph_base_url=f"{graph.url}/v1.0")
    credential = FakeGraphCredential(ADMIN_CONSENTED)
    feed = ActivityFeed(
        db, lambda: graph_gateway(settings, credential), Metrics(), client_id=graph.entra_app_id, tenant=TENANT_ID
    )
    yield graph, db, feed, settings
    await db.close()
    await graph.stop()


async def deliver(feed: ActivityFeed, to: Feed, notification: ActivityNotification) -> FeedOutcome:
    """As the outbox sends a row: again at the moment the feed names when it gives way."""
    while True:
        try:
            return await feed.send(to, notification)
        except NotNow as later:
            await asyncio.sleep(later.seconds)


def busiest(moments: list[float], seconds: float = 1.0) -> int:
    """The most requests in any window of `seconds`."""
    moments = sorted(moments)
    return max((sum(1 for m in moments[i:] if m - start < seconds) for i, start in enumerate(moments)), default=0)


async def test_many_at_once_go_at_five_a_second_and_unpaced_they_are_throttled(
    feed_world: tuple[GraphFake, Database, ActivityFeed, Settings],
) -> None:
    graph, _, feed, settings = feed_world
    people = [(t, u) for t in ("team-a", "team-b") for u in graph.teams[t].members]
    outcomes = await asyncio.gather(*(deliver(feed, Feed(t, u), note(u)) for t, u in people))
    assert outcomes == [FeedOutcome.SENT] * 12 and len(graph.notifications) == 12
    assert graph.throttled() == 0, "booked under the tenant's 5 a second and each team's 4"
    assert busiest([n.at for n in graph.notifications]) <= 5

    # The control: the same twelve, each sent once without pacing, are throttled by the fake.
    unpaced = TeamsGateway(make_client(FakeGraphCredential(ADMIN_CONSENTED), settings.graph_base_url), attempts=1)
    results = await asyncio.gather(
        *(unpaced.send_activity_notification(t, note(u)) for t, u in people), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, GraphFailure)]
    assert refused and all(r.status == 429 for r in refused)
    assert all(c.status in (204, 429) for c in graph.calls)


async def test_instances_sending_to_one_team_at_once_keep_its_four_a_second_together(
    feed_world: tuple[GraphFake, Database, ActivityFeed, Settings],
) -> None:
    """Each booking names the person, the team and the tenant; the tenant's lock keeps them all apart, so
    the team's window is read after every other instance's booking in it, whoever the notification is for."""
    graph, _, _, settings = feed_world
    for i in range(14):
        graph.teams["team-a"].members[graph.add_user(f"team-a-extra-{i}@contoso.test")] = []
    people = list(graph.teams["team-a"].members)
    credential = FakeGraphCredential(ADMIN_CONSENTED)
    engines = [Database(settings.database_url) for _ in range(5)]
    instances = [
        ActivityFeed(
            db, lambda: graph_gateway(settings, credential), Metrics(), client_id=graph.entra_app_id, tenant=TENANT_ID
        )
        for db in engines
    ]
    try:
        outcomes = await asyncio.gather(
            *(deliver(instances[i % 5], Feed("team-a", user), note(user)) for i, user in enumerate(people))
        )
    finally:
        for db in engines:
            await db.close()
    assert outcomes == [FeedOutcome.SENT] * len(people) == [FeedOutcome.SENT] * 20
    assert graph.throttled() == 0 and busiest([n.at for n in graph.notifications]) <= 4


async def test_a_throttled_notification_is_sent_again_after_retry_after(
    feed_world: tuple[GraphFake, Database, ActivityFeed, Settings],
) -> None:
    graph, _, feed, _ = feed_world
    user = next(iter(graph.teams["team-a"].members))
    graph.fail(429, path_contains="sendActivityNotification")  # the fake's injected 429 names Retry-After: 1
    started = time.monotonic()
    assert await feed.send(Feed("team-a", user), note(user)) == FeedOutcome.SENT
    assert time.monotonic() - started >= 1.0, "it waited as Graph said"
    assert [c.status for c in graph.calls] == [429, 204] and len(graph.notifications) == 1


async def test_the_eleventh_in_a_minute_waits_its_turn_where_unpaced_it_gets_429(
    feed_world: tuple[GraphFake, Database, ActivityFeed, Settings],
) -> None:
    graph, _, feed, settings = feed_world
    alone, other = list(graph.teams["team-a"].members)[:2]
    # A second instance (its own connections, its own memory) sends every other one: the minute is shared.
    elsewhere = Database(settings.database_url)
    credential = FakeGraphCredential(ADMIN_CONSENTED)
    second = ActivityFeed(
        elsewhere,
        lambda: graph_gateway(settings, credential),
        Metrics(),
        client_id=graph.entra_app_id,
        tenant=TENANT_ID,
    )
    try:
        for i in range(10):
            assert await (feed, second)[i % 2].send(Feed("team-a", alone), note(alone)) == FeedOutcome.SENT
        for instance in (feed, second):
            with pytest.raises(NotNow) as later:
                await instance.send(Feed("team-a", alone), note(alone))
            assert 50 < later.value.seconds <= 61, "when the oldest of the ten leaves the minute"
    finally:
        await elsewhere.close()
    assert graph.throttled() == 0 and len(graph.notifications) == 10

    # The control: with the team's and the tenant's limits lifted, only the person's minute can bite.
    graph.per_resource_rps = graph.feed_per_tenant_rps = math.inf
    unpaced = TeamsGateway(make_client(FakeGraphCredential(ADMIN_CONSENTED), settings.graph_base_url), attempts=1)
    for _ in range(10):
        assert await unpaced.send_activity_notification("team-a", note(other)) == Notified.SENT
    with pytest.raises(GraphFailure) as refused:
        await unpaced.send_activity_notification("team-a", note(other))
    assert refused.value.status == 429
    assert len(graph.notifications_to(other)) == 10


async def test_the_fake_refuses_what_graph_refuses(
    feed_world: tuple[GraphFake, Database, ActivityFeed, Settings],
) -> None:
    graph, _, _, settings = feed_world
    graph.per_resource_rps = math.inf  # seven calls to one team in a second: its limit is not what this is about
    member = next(iter(graph.teams["team-a"].members))
    outsider = next(iter(graph.teams["team-b"].members))
    gateway = TeamsGateway(make_client(FakeGraphCredential(ADMIN_CONSENTED), settings.graph_base_url), attempts=1)
    assert await gateway.send_activity_notification("team-a", note(member)) == Notified.SENT
    assert await gateway.send_activity_notification("team-a", note(outsider)) == Notified.FORBIDDEN
    undeclared = ActivityNotification(member, "somethingNew", "Contoso", note(member).web_url, "Hello")
    elsewhere = note(member, link="https://kambot.contoso.example/accounts/1")
    for refused, status in ((undeclared, 400), (elsewhere, 400)):
        with pytest.raises(GraphFailure) as failure:
            await gateway.send_activity_notification("team-a", refused)
        assert failure.value.status == status
    with pytest.raises(GraphFailure) as unknown:
        await gateway.send_activity_notification("team-gone", note(member))
    assert unknown.value.status == 404
    graph.teams["team-a"].rsc.discard(SEND_IN_TEAM)
    assert await gateway.send_activity_notification("team-a", note(member)) == Notified.FORBIDDEN
    everywhere = TeamsGateway(make_client(FakeGraphCredential({"TeamsActivity.Send"}), settings.graph_base_url))
    assert await everywhere.send_activity_notification("team-a", note(member)) == Notified.SENT, "the broader one"
    assert len(graph.notifications) == 2


async def test_the_doctor_shows_each_teams_grant_and_the_fix_where_it_is_missing(tenant: Tenant) -> None:
    graph = tenant.graph
    graph.add_team("team-not-granted").installed_apps.append(graph.bot_app_id)
    graph.teams["team-not-granted"].rsc.discard(SEND_IN_TEAM)  # installed before kambot asked for it
    graph.add_team("team-without-kambot")
    teams = [TEAM_ID, "team-not-granted", "team-without-kambot"]
    credential = FakeGraphCredential(ADMIN_CONSENTED)
    checks = {c.name: c for c in await activity_feed_checks(tenant.settings(kam_team_ids=teams), credential)}

    assert checks[f"Activity feed in {TEAM_ID}"].ok is True
    assert SEND_IN_TEAM in checks[f"Activity feed in {TEAM_ID}"].detail
    not_granted = checks["Activity feed in team-not-granted"]
    assert not_granted.ok is False and f"{SEND_IN_TEAM} not granted to kambot" in not_granted.detail
    assert "accept its permissions" in not_granted.fix and "kambot publish" in not_granted.fix
    without = checks["Activity feed in team-without-kambot"]
    assert without.ok is False and "cannot be read" in without.detail and without.fix.startswith("add kambot")

    # The grant names the Entra app of the package (webApplicationInfo); kambot must call Graph as that app.
    other_identity = "0f0e0d0c-0000-4000-8000-000000000001"
    elsewhere = tenant.settings(graph_client_id=other_identity, tab_sso_client_id=graph.entra_app_id)
    mismatch = (await activity_feed_checks(elsewhere, credential))[0]
    assert mismatch.ok is False and "webApplicationInfo" in mismatch.detail and "KAMBOT_GRAPH_CLIENT_ID" in mismatch.fix

    off = await activity_feed_checks(tenant.settings(activity_feed=False), credential)
    assert [(c.ok, c.detail.split(" (")[0]) for c in off] == [(None, "off")]
