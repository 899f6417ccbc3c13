"""The steering figures of complete days are computed when kambot starts, ahead of the first portfolio page."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.app import SERVICES
from tests.support.fakes.connector import ConnectorFake
from tests.support.harness import RunningBot, local_settings, migrate_and_seed


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
