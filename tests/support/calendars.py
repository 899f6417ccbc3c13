"""What the calendar tests share: the Graph fake with everyone's (empty) calendar, a bot that reads them on
every sweep, and waiting for those reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, GraphFake
from tests.support.harness import RunningBot, local_settings
from tests.support.teams import CONTOSO_CHANNEL, USERS

HANNA = ("Dr. Hanna Berger", "hanna.berger@contoso-pharma.example")  # a stakeholder of Contoso Pharma
MARIA = ("Maria Lopez", "maria.lopez@fabrikam.example")


def us(user: str) -> tuple[str, str]:
    return USERS[user].name, USERS[user].upn


def mailbox(user: str) -> str:
    return USERS[user].aad_object_id


@dataclass
class World:
    bot: RunningBot
    graph: GraphFake
    connector: ConnectorFake


@asynccontextmanager
async def calendars() -> AsyncIterator[GraphFake]:
    """The Graph fake, with a calendar for every demo user."""
    fake = await GraphFake().start()
    for user in USERS:
        fake.calendars[mailbox(user)] = []
    try:
        yield fake
    finally:
        await fake.stop()


async def calendar_bot(url: str, graph: GraphFake, connector: ConnectorFake, **overrides: Any) -> RunningBot:
    """A bot reading the calendars on every sweep (unless `meeting_read_minutes` says otherwise), which shows
    that nothing goes twice."""
    values: dict[str, Any] = {
        "meeting_nudges": True,
        "meeting_read_minutes": 0.01,
        "graph_base_url": f"{graph.url}/v1.0",
        "outbox_sweep_seconds": 0.3,
        **overrides,
    }
    bot = await RunningBot(local_settings(url, **values), connector, graph_credential=FakeGraphCredential()).start()
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant
    return bot


async def calendar_reads(graph: GraphFake, user: str, at_least: int, tries: int = 400) -> None:
    """Wait until the bot has read the user's calendar that often."""
    for _ in range(tries):
        if sum(1 for c in graph.calls if c.resource == f"mailbox:{mailbox(user)}" and c.status == 200) >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user}'s calendar was not read {at_least} times")
