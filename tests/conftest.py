from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.fakes.background import BackgroundLoop
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.jwks import IdentityFake
from tests.support.harness import RunningBot, fresh_database, local_settings, migrate_and_seed
from tests.support.teams import CATALOG_APP_ID

POSTGRES_URL = os.environ.get("KAMBOT_TEST_POSTGRES_URL", "")


def _postgres_or_skip() -> str:
    if not POSTGRES_URL:
        pytest.skip("KAMBOT_TEST_POSTGRES_URL is not set (`.ci/run` sets it to the local server)")
    return POSTGRES_URL


@pytest.fixture
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    async with fresh_database(_postgres_or_skip()) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The storage tests run on both databases we support."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    return request.getfixturevalue("fresh_postgres")


@pytest.fixture(scope="module")
def identity() -> Iterator[IdentityFake]:
    """The Bot Framework's and Entra's identity endpoints, in their own thread: MSAL calls them blocking."""
    loop = BackgroundLoop()
    fake = loop.run(IdentityFake().start())
    yield fake
    loop.run(fake.stop())
    loop.close()


@pytest.fixture
async def connector() -> AsyncIterator[ConnectorFake]:
    fake = await ConnectorFake().start()
    yield fake
    await fake.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"


async def _demo_bot(url: str, connector: ConnectorFake, **overrides: object) -> AsyncIterator[RunningBot]:
    await migrate_and_seed(url)
    running = await RunningBot(local_settings(url, **overrides), connector).start()
    yield running
    await running.stop()


@pytest.fixture
async def bot(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The bot in local mode on SQLite, with the demo portfolio."""
    async for running in _demo_bot(sqlite_url, connector):
        yield running


@pytest.fixture
async def bot_on_both(database_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The same bot, once on SQLite and once on PostgreSQL."""
    async for running in _demo_bot(database_url, connector):
        yield running


@pytest.fixture
async def bot_in_catalog(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The demo bot knowing its id in the tenant's app catalog: its cards can link to the channels' tabs."""
    async for running in _demo_bot(sqlite_url, connector, teams_app_id=CATALOG_APP_ID):
        yield running
