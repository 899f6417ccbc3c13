"""A bot serving its tab pages to one headless Chromium context: what each tab page test module starts once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext

from bot.settings import Settings
from bot.tabs.signin import TabTokens
from kam.demo import TENANT_ID
from tests.support.chromium import ARTIFACTS, chromium
from tests.support.fakes.connector import ConnectorFake
from tests.support.harness import RunningBot, migrate_and_seed
from tests.support.teams import USERS

SHOTS = ARTIFACTS / "tabs"
THEMES = ("default", "dark", "contrast")
WIDTHS = {"desktop": 1024, "phone": 360}
DEV_SECRET = "c" * 32


def dev_token(settings: Settings, user: str) -> str:
    """The tab token a demo person (USERS' key) signs in with locally."""
    person = USERS[user]
    return TabTokens(settings).dev_token(person.aad_object_id, TENANT_ID, person.name)


@asynccontextmanager
async def tab_bot(folder: Path, **overrides: Any) -> AsyncIterator[RunningBot]:
    """The bot on its own SQLite copy of the demo portfolio in `folder`, signing tabs in with dev tokens and
    sending no scheduled cards; `overrides` adds settings or changes these."""
    database_url = f"sqlite+aiosqlite:///{folder / 'kambot.db'}"
    connector = await ConnectorFake().start()
    await migrate_and_seed(database_url)
    chosen = {"nudge_weekday": "off", "monthly_kpi_cards": False, "tab_dev_secret": DEV_SECRET} | overrides
    settings = Settings(_env_file=None, database_url=database_url, **chosen)  # type: ignore[call-arg]
    bot = await RunningBot(settings, connector).start()
    try:
        yield bot
    finally:
        await bot.stop()
        await connector.stop()


@asynccontextmanager
async def page_context() -> AsyncIterator[BrowserContext]:
    """One browser context for a module: its HTTP cache keeps the components and tokens, as Teams' would."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        context = await browser.new_context()
        try:
            yield context
        finally:
            await context.close()
