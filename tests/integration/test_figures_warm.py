"""The steering figures of complete days are computed, and the day's health scores recorded, when kambot starts,
ahead of the first portfolio page."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.app import SERVICES
from kam.health import health_for
from kam.models import AccountHealth
from tests.support.fakes.connector import ConnectorFake
from tests.support.harness import RunningBot, local_settings, migrate_and_seed


async def stored_scores(bot: RunningBot, day: dt.date) -> dict[int, int]:
    async with bot.db.transaction() as session:
        rows = await session.execute(
            select(AccountHealth.account_id, AccountHealth.score).where(AccountHealth.on_date == day)
        )
        return {account_id: score for account_id, score in rows.all()}


async def test_serve_computes_the_figures_of_every_active_account_at_start(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, warm_figures=True), connector).start()
    try:
        assert bot.app is not None
        cache = bot.app[SERVICES].kpi_cache
        for _ in range(100):
            if cache.holds([1, 2], dt.date.today()):
                break
            await asyncio.sleep(0.05)
        assert cache.holds([1, 2], dt.date.today()), "Contoso's and Fabrikam's figures are at hand"
        today = dt.date.today()
        for _ in range(100):
            stored = await stored_scores(bot, today)
            if stored:
                break
            await asyncio.sleep(0.05)
        async with bot.db.transaction() as session:
            healths = await health_for(session, [1, 2], today)
        expected = {account_id: health.score for account_id, health in healths.items() if health.score is not None}
        assert stored == expected and expected, "today's scores are stored"
    finally:
        await bot.stop()


async def test_without_it_the_first_page_computes_them(sqlite_url: str, connector: ConnectorFake) -> None:
    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, warm_figures=False), connector).start()
    try:
        assert bot.app is not None
        await asyncio.sleep(0.3)
        assert not bot.app[SERVICES].kpi_cache.holds([1, 2], dt.date.today())
    finally:
        await bot.stop()
