"""The bot's real aiohttp app on a loopback port, wired to the connector fake."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bot.app import SERVICES, create_app
from bot.settings import Settings
from kam.demo import seed_demo
from kam.migrate import upgrade
from kam.models import Contact
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.loopback import serve_on_loopback
from tests.support.teams import USERS, Teams


@asynccontextmanager
async def bot_with_rules(
    database_url: str, connector: ConnectorFake, folder: Path, rules_yaml: str, **overrides: object
) -> AsyncIterator[RunningBot]:
    """The demo bot with a communication rules file, as admins write it (and other settings, as `overrides`)."""
    path = folder / "rules.yaml"
    path.write_text(rules_yaml)
    await migrate_and_seed(database_url)
    settings = local_settings(database_url, rules_file=str(path), **overrides)
    bot = await RunningBot(settings, connector).start()
    try:
        yield bot
    finally:
        await bot.stop()


async def admin_connection(server_url: str) -> asyncpg.Connection:
    """A plain driver connection to the database of `server_url`, outside any pool of ours."""
    parsed = make_url(server_url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )


@asynccontextmanager
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`, dropped afterwards."""
    parsed = make_url(server_url)
    admin = await admin_connection(server_url)
    name = f"kambot_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


_seeded_sqlite: list[Path] = []


async def _seeded_sqlite_template() -> Path:
    """The migrated, seeded SQLite database, made once per test process (migrating takes a while)."""
    if not _seeded_sqlite:
        path = Path(tempfile.mkdtemp(prefix="kambot-template-")) / "seeded.db"
        await migrate_and_seed(f"sqlite+aiosqlite:///{path}", from_template=False)
        _seeded_sqlite.append(path)
    return _seeded_sqlite[0]


async def migrate_and_seed(database_url: str, *, from_template: bool = True, demo_plans: bool = False) -> None:
    """The schema and the demo portfolio; a new SQLite file is a copy of the one seeded first.

    Without `demo_plans` the accounts start with no plan, and each test saves the plan it needs
    (tests/support/flows.py `seed_plan`); with it, the demo's own plan is seeded as `kambot dev` does.
    """
    parsed = make_url(database_url)
    target = Path(parsed.database or "")
    from_copy = from_template and not demo_plans and parsed.get_backend_name() == "sqlite" and parsed.database
    if from_copy and not target.exists():
        shutil.copyfile(await _seeded_sqlite_template(), target)
        return
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await seed_demo(session, plans=demo_plans)
    finally:
        await db.close()


@dataclass
class Reply:
    status: int
    body: Any


class RunningBot:
    def __init__(
        self, settings: Settings, connector: ConnectorFake | None = None, graph_credential: object = None
    ) -> None:
        self.settings = settings
        self.graph_credential = graph_credential
        self.connector = connector or ConnectorFake()
        self.teams = Teams(self.connector.url)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.app: web.Application | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> RunningBot:
        self.app = create_app(self.settings, self.graph_credential)  # type: ignore[arg-type]
        self._runner, port = await serve_on_loopback(self.app)
        self.url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def db(self) -> Database:
        assert self.app is not None
        return self.app[SERVICES].db

    async def send(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
        assert self._http is not None
        async with self._http.post(f"{self.url}/api/messages", json=activity, headers=headers) as response:
            text = await response.text()
            try:
                body: Any = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return Reply(response.status, body)

    async def post_raw(self, data: bytes, content_type: str = "application/json") -> Reply:
        assert self._http is not None
        async with self._http.post(f"{self.url}/api/messages", data=data, headers={"Content-Type": content_type}) as r:
            return Reply(r.status, await r.text())

    async def get(self, path: str) -> Reply:
        assert self._http is not None
        async with self._http.get(f"{self.url}{path}") as response:
            return Reply(response.status, await response.json(content_type=None))

    async def contact_count(self) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(Contact)) or 0)

    def reseal(self, data: dict[str, Any], user: str = "alex") -> dict[str, Any]:
        """`data` sealed with the bot's own key for `user`, as if kambot had issued it: a forged id
        then gets past the signature, so a test reaches the access policy behind it."""
        assert self.app is not None
        person = USERS[user]
        card = {"actions": [{"type": "Action.Submit", "data": dict(data)}]}
        sealer = self.app[SERVICES].sealer
        sealed = sealer.seal(card, person.aad_object_id, dt.date.today())
        return sealed["actions"][0]["data"]

    @contextmanager
    def statements_seen(self) -> Iterator[list[str]]:
        """The SQL statements run meanwhile, each up to its WHERE: what a refusal's work looks like."""
        seen: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            seen.append(statement.split("WHERE")[0])

        engine = self.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", note)

    async def settle(self) -> None:
        """Wait for the outbox sends that the last turn started."""
        assert self.app is not None
        await self.app[SERVICES].sender.idle()


def local_settings(database_url: str, **overrides: object) -> Settings:
    # No weekly nudges unless a test asks for them: they would otherwise arrive on Fridays only; no monthly KPI
    # cards either (they would arrive in every chat at start-up). Requests to acknowledge go as soon as they are
    # queued (what waits then still goes as one card), unless a test waits.
    values: dict[str, object] = {
        "database_url": database_url,
        "outbox_sweep_seconds": 0.2,
        "nudge_weekday": "off",
        "monthly_kpi_cards": False,
        "warm_figures": False,  # a test that wants the figures ahead asks for them
        "ack_batch_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
