"""What operators see: Prometheus metrics, readiness, and JSON logs that name the activity and conversation."""

from __future__ import annotations

import io
import json
import logging

import aiohttp

from bot.logs import JsonFormatter
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import open_form, save, scrape
from tests.support.harness import RunningBot, local_settings
from tests.support.teams import Teams


async def test_metrics_count_turns_outbox_deliveries_and_throttling(bot: RunningBot, connector: ConnectorFake) -> None:
    before = await scrape(bot)
    assert before["kambot_outbox_depth"] == 0
    form, _ = await open_form(bot)
    connector.fail_next(429, retry_after=0.05)  # the next request: the channel post or the manager's chat
    await save(bot, form)
    await bot.settle()
    after = await scrape(bot)
    assert after["kambot_turns_total{type=message}"] >= 1 and after["kambot_turns_total{type=invoke}"] >= 2
    assert after["kambot_outbox_sent_total{kind=contact.logged}"] == 1
    assert after["kambot_outbox_sent_total{kind=ack.request}"] == 1, "the KA manager's card"
    assert after["kambot_connector_throttled_total"] == 1
    assert after["kambot_outbox_depth"] == 0 and after["kambot_outbox_oldest_age_seconds"] == 0


async def test_ready_only_when_the_database_has_the_schema_this_code_needs(
    bot: RunningBot,
    tmp_path,
    connector: ConnectorFake,  # type: ignore[no-untyped-def]
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{bot.url}/readyz") as response:
            assert response.status == 200 and (await response.json())["status"] == "ready"
        empty = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        fresh = await RunningBot(local_settings(empty), connector).start()
        try:
            async with http.get(f"{fresh.url}/readyz") as response:
                body = await response.json()
                assert response.status == 503 and body["schema"] is None and body["needs"]
            async with http.get(f"{fresh.url}/healthz") as response:
                assert response.status == 200, "alive, though not ready"
        finally:
            await fresh.stop()
            await Database(empty).close()


async def test_logs_are_json_lines_naming_the_activity_and_conversation(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    from tests.support.harness import migrate_and_seed

    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, allowed_tenant_ids="tenant-a"), connector).start()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("bot").addHandler(handler)
    try:
        activity = Teams(connector.url, tenant_id="tenant-b").message("help")
        await bot.send(activity)
    finally:
        logging.getLogger("bot").removeHandler(handler)
        await bot.stop()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    refused = next(line for line in lines if "not allowed" in line["message"])
    assert refused["level"] == "WARNING" and refused["tenant"] == "tenant-b"
    assert refused["activity_id"] == activity["id"] and refused["conversation_id"] == activity["conversation"]["id"]
