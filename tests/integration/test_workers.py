"""`kambot worker` processes: the outbox sent from outside the web process, and by several at once on PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess

from sqlalchemy import func, select

from kam.conversations import SeenConversation, remember
from kam.models import Account, OutboxMessage, OutboxStatus
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.harness import migrate_and_seed
from tests.support.workers import deliveries, owe_weekly_digests, start_worker


async def queue_welcomes(url: str, connector: ConnectorFake, count: int) -> None:
    """`count` channel welcomes owed to Contoso's channel, which the bot can reach through the connector fake."""
    await migrate_and_seed(url)
    db = Database(url)
    async with db.transaction() as session:
        await remember(session, SeenConversation("channel-contoso-id", connector.url, "t", "channel", "team-id", "b"))
        contoso = await session.scalar(select(Account.id).where(Account.name == "Contoso Pharma"))
        session.add_all(
            OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=contoso, account_id=contoso) for _ in range(count)
        )
    await db.close()


async def sent_and_pending(url: str) -> tuple[int, int]:
    db = Database(url)
    async with db.transaction() as session:
        counts = dict(
            (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
    await db.close()
    return counts.get(OutboxStatus.SENT, 0), counts.get(OutboxStatus.PENDING, 0)


async def stop(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    output, _ = await asyncio.to_thread(worker.communicate, timeout=20)
    assert worker.returncode == 0, output
    return output


async def test_a_worker_sends_the_outbox_without_a_web_server_and_stops_cleanly(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    await queue_welcomes(sqlite_url, connector, 3)
    worker = start_worker(sqlite_url)
    try:
        await connector.wait_for(lambda fake: len(fake.in_conversation("channel-contoso-id")) == 3, timeout=30)
    finally:
        output = await stop(worker)
    assert "Traceback" not in output
    assert await sent_and_pending(sqlite_url) == (3, 0)


async def test_three_workers_on_postgresql_send_each_message_once_inside_the_channels_windows_together(
    fresh_postgres: str, connector: ConnectorFake
) -> None:
    """One channel, three senders: the conversation's 7 a second and 8 in 2 seconds hold for all of them
    (each keeping its own count, they would send three times that). Sending a batch takes them longer
    than the two-second lease it was claimed under: they renew it, so that no other takes it meanwhile."""
    await queue_welcomes(fresh_postgres, connector, 30)
    workers = [start_worker(fresh_postgres, outbox_lease_seconds="2") for _ in range(3)]
    try:
        await connector.wait_for(lambda fake: len(fake.in_conversation("channel-contoso-id")) >= 30, timeout=60)
        await asyncio.sleep(1)  # time for a duplicate to show, if there were one
    finally:
        for worker in workers:
            await stop(worker)
    assert len(connector.in_conversation("channel-contoso-id")) == 30
    assert await sent_and_pending(fresh_postgres) == (30, 0)
    # Booked 30 ms wider than the service's windows; a machine loaded enough to delay one request by more may
    # meet one 429 (retried: every post still arrived once), as the issue's own target for the fan-out allows.
    assert connector.throttled <= 1, "no more than 1 in 100 requests beyond the Bot Connector's windows"


async def test_a_worker_killed_outright_loses_nothing_and_the_others_finish_its_work(
    fresh_postgres: str, connector: ConnectorFake
) -> None:
    """SIGKILL: no chance to finish or release anything; the messages it held return when its lease runs out.

    A new worker starts as the other dies: the tenant's limit, shared through the database, holds
    for whoever is sending at the moment (with hand-set shares, four would send more than it allows).
    """
    people = 240
    connector.tenant_windows = ((30, 1.0),)
    await owe_weekly_digests(fresh_postgres, connector, people)
    settings = {"connector_sends_per_second": "30", "outbox_lease_seconds": "3", "outbox_in_flight": "4"}
    in_flight = int(settings["outbox_in_flight"])
    workers = [start_worker(fresh_postgres, **settings) for _ in range(3)]
    try:
        await connector.wait_for(lambda fake: deliveries(fake, people).delivered >= people // 3, timeout=60)
        victim = workers.pop(0)
        victim.send_signal(signal.SIGKILL)
        workers.append(start_worker(fresh_postgres, **settings))
        await asyncio.to_thread(victim.wait, 10)
        at_kill = deliveries(connector, people).delivered
        await connector.wait_for(lambda fake: deliveries(fake, people).lost == 0, timeout=60)
        for _ in range(40):  # the victim's leased message is taken again once its lease has run out
            if await sent_and_pending(fresh_postgres) == (people, 0):
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(1)  # time for a duplicate to show, if there were one
    finally:
        for worker in workers:
            await stop(worker)
    assert victim.returncode == -signal.SIGKILL and at_kill < people, "killed mid-run"
    result = deliveries(connector, people)
    assert result.lost == 0 and await sent_and_pending(fresh_postgres) == (people, 0)
    # The Bot Connector has no idempotency key: only messages the victim had sent but not yet
    # marked sent when it died can go out again, never more than it had in flight.
    assert result.duplicates <= in_flight, result
    assert connector.throttled <= people // 100, "the four workers stayed under the tenant's limit together"


async def test_the_outbox_keeps_under_the_connectors_limit_per_tenant(sqlite_url: str) -> None:
    """A fake enforcing 10 sends a second per tenant: paced sends are never throttled, unpaced ones are."""
    from tests.support.harness import RunningBot, local_settings

    async def run(sends_per_second: int) -> tuple[int, float]:
        connector = await ConnectorFake(tenant_windows=((10, 1.0),)).start()
        url = sqlite_url.replace("kambot.db", f"pace-{sends_per_second}.db")
        await queue_welcomes(url, connector, 12)
        db = Database(url)
        async with db.transaction() as session:
            await remember(session, SeenConversation("team-id", connector.url, "t", "channel", "team-id", "b"))
            fabrikam = await session.scalar(select(Account.id).where(Account.name == "Fabrikam Logistics"))
            session.add_all(
                OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=fabrikam, account_id=fabrikam)
                for _ in range(12)
            )
        await db.close()
        started = asyncio.get_running_loop().time()
        settings = local_settings(url, connector_sends_per_second=sends_per_second)
        bot = await RunningBot(settings, connector).start()
        try:
            await connector.wait_for(lambda fake: len([r for r in fake.recorded if r.method == "send"]) >= 24, 30)
        finally:
            await bot.stop()
            await connector.stop()
        return connector.throttled, asyncio.get_running_loop().time() - started

    throttled, seconds = await run(10)
    assert throttled == 0 and seconds >= 1.5, (throttled, seconds)
    unpaced, _ = await run(50)
    assert unpaced > 0, "the fake does enforce the limit: without pacing it throttles"
