"""The aiohttp application: /api/messages for Teams, /healthz for operators."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from azure.core.credentials_async import AsyncTokenCredential
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.admin.graph_access import graph_client_id, graph_gateway, graph_tenant
from bot.metrics import Metrics
from bot.outbox.address import AddressBook
from bot.outbox.feed import ActivityFeed
from bot.outbox.meeting_watch import MeetingWatch
from bot.outbox.sender import Connector, Sender
from bot.outbox.sweeper import Sweeper
from bot.routes import BOUND_VERBS
from bot.sealer import Sealer
from bot.services import Services
from bot.settings import Settings
from bot.tab_links import TabLinks
from bot.tabs.pages import TabPages
from bot.teams.endpoint import TeamsEndpoint
from bot.telemetry import trace_database
from kam.catalogue import Catalogue
from kam.health import record_health
from kam.kpi_cards import schedule_kpi_cards
from kam.list_reviews import schedule_list_review_due
from kam.migrate import head_revision
from kam.models import Account
from kam.nudges import WEEKDAYS, NudgeTime
from kam.rules import Rules
from kam.selection import Selection
from kam.storage import Database

if TYPE_CHECKING:
    from graph.gateway import TeamsGateway

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
SERVICES = web.AppKey("services", Services)
METRICS_ONLY = web.AppKey("metrics_only", bool)
SWEEPER = web.AppKey("sweeper", Sweeper)


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Take what start-up built out of the garbage collector's sight, once per process.

    The dependencies leave some 160,000 long-lived objects (msgraph's models above all); every
    full collection walked them all, about 80 ms with every turn of the process standing still,
    which set the bot's p99. gc.freeze() is the documented cure for long-lived start-up state.
    """
    global _startup_frozen
    if not _startup_frozen:
        gc.collect()
        gc.freeze()
        _startup_frozen = True


async def healthz(request: web.Request) -> web.Response:
    reachable = await request.app[SERVICES].db.reachable()
    return web.json_response(
        {"status": "ok" if reachable else "degraded", "database": reachable}, status=200 if reachable else 503
    )


async def readyz(request: web.Request) -> web.Response:
    """Ready for traffic: the database answers and its schema is the one this code needs."""
    db = request.app[SERVICES].db
    revision = await db.schema_revision()
    wanted = head_revision()
    ready = revision is not None and revision == wanted
    body = {"status": "ready" if ready else "not ready", "schema": revision, "needs": wanted}
    return web.json_response(body, status=200 if ready else 503)


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus' page. Outside local mode the public port serves it only with the metrics token."""
    services = request.app[SERVICES]
    settings = services.settings
    if not settings.local_mode and not request.app.get(METRICS_ONLY, False):
        token = settings.metrics_token
        offered = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            raise web.HTTPNotFound()
    body = await services.metrics.render(services.db)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@contextlib.asynccontextmanager
async def metrics_listener(services: Services) -> AsyncIterator[None]:
    """/metrics alone, on a port of its own that the public ingress does not expose."""
    inner = web.Application()
    inner[SERVICES] = services
    inner[METRICS_ONLY] = True
    inner.router.add_get("/metrics", metrics_page)
    runner = web.AppRunner(inner, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, services.settings.host, services.settings.metrics_port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    async with metrics_listener(app[SERVICES]):
        yield


def meeting_watch(settings: Settings, db: Database, metrics: Metrics, gateway: TeamsGateway) -> MeetingWatch:
    return MeetingWatch(
        db,
        gateway,
        metrics,
        every=dt.timedelta(minutes=settings.meeting_read_minutes),
        lookback=dt.timedelta(hours=settings.meeting_lookback_hours),
    )


def _feed_off_because(settings: Settings, credential: AsyncTokenCredential | None) -> str:
    if not settings.activity_feed:
        return "KAMBOT_ACTIVITY_FEED is false"
    if not settings.kam_team_ids:
        return "no KAMBOT_KAM_TEAM_IDS: kambot does not use Graph"
    if not TabLinks.of(settings).app_id:
        return "no app id for the link to the chat (KAMBOT_TEAMS_APP_ID or KAMBOT_APP_ID)"
    if credential is None and settings.graph_auth != "managed_identity" and not graph_client_id(settings):
        return "no Graph identity (KAMBOT_GRAPH_CLIENT_ID or KAMBOT_APP_ID)"
    return ""


def activity_feed(
    settings: Settings,
    db: Database,
    metrics: Metrics,
    credential: AsyncTokenCredential | None,
    gateway: Callable[[], TeamsGateway],
) -> ActivityFeed | None:
    """Feed notifications where kambot uses Graph (the KAM teams), with an identity for it and the app's id
    for the link to the chat; None, and a line in the log saying why, otherwise."""
    off = _feed_off_because(settings, credential)
    if off:
        log.info("activity feed notifications: off (%s)", off)
        return None
    log.info("activity feed notifications: on, in the team of each account's channel")
    return ActivityFeed(
        db,
        gateway,
        metrics,
        client_id=graph_client_id(settings),
        tenant=graph_tenant(settings),
    )


def steering_cards(settings: Settings, db: Database, selection: Selection) -> Callable[[], Awaitable[int]]:
    """The sweep's job for the head of KAM and the KA managers: a list review due, the monthly KPI cards (each once,
    whichever instance gets there first)."""

    async def run_once() -> int:
        today = dt.datetime.now(dt.UTC).date()
        async with db.transaction() as session:
            heads = settings.head_of_kam_aad_ids
            due = await schedule_list_review_due(session, heads, selection.review_every_days, today)
            return due + (await schedule_kpi_cards(session, heads, today) if settings.monthly_kpi_cards else 0)

    return run_once


def health_record(db: Database, selection: Selection) -> Callable[[], Awaitable[int]]:
    """The sweep's job that stores each active account's health score once a day and queues the card to its KA
    managers when it fell (kam.health.record_health), for the day the pages ask for, as keep_figures_warm does.
    It leaves the steering figures' cache to the warm-up (KAMBOT_WARM_FIGURES). Once a day has been recorded, this
    process leaves it: an account without a score (no part with a weight has data) would otherwise be computed
    again on every sweep."""
    recorded: dt.date | None = None

    async def run_once() -> int:
        nonlocal recorded
        today = dt.date.today()
        if today == recorded:
            return 0
        async with db.transaction() as session:
            told = await record_health(session, today, selection.health)
        recorded = today
        return told

    return run_once


def outbox(
    settings: Settings,
    db: Database,
    connector: Connector,
    sealer: Sealer,
    metrics: Metrics,
    credential: AsyncTokenCredential | None,
    catalogue: Catalogue | None = None,
    selection: Selection | None = None,
) -> tuple[Sender, Sweeper]:
    """The outbox's sender and its sweep, as `kambot serve` and `kambot worker` both run them."""
    # One Graph client for the process (one token, one pacing), built when first needed: msgraph imports slowly.
    graph = functools.cache(functools.partial(graph_gateway, settings, credential, metrics.graph_throttled.inc))
    sender = Sender(
        connector,
        db,
        addresses=AddressBook(settings.app_id, settings.tenant_ids),
        locale=settings.default_locale,
        metrics=metrics,
        sealer=sealer,
        catalogue=catalogue,
        links=TabLinks.of(settings),
        sends_per_second=settings.connector_sends_per_second,
        lease_seconds=settings.outbox_lease_seconds,
        not_reachable_seconds=settings.outbox_sweep_seconds,
        in_flight=settings.outbox_in_flight,
        admins=settings.admin_aad_ids,
        feed=activity_feed(settings, db, metrics, credential, graph),
        ack_window_seconds=settings.ack_batch_seconds,
        heads=settings.head_of_kam_aad_ids,
        selection=selection,
    )
    sweeper = Sweeper(
        sender,
        db,
        every_seconds=settings.outbox_sweep_seconds,
        nudge_time=NudgeTime(
            WEEKDAYS.index(settings.nudge_weekday) if settings.nudge_weekday in WEEKDAYS else None,
            settings.nudge_hour,
        ),
        jobs=[
            steering_cards(settings, db, selection or Selection()),
            health_record(db, selection or Selection()),
            *([meeting_watch(settings, db, metrics, graph()).run_once] if settings.meeting_nudges else []),
        ],
        card_memory_days=settings.form_max_age_days + 1,  # a form older than that is refused anyway
    )
    return sender, sweeper


def build(
    settings: Settings, graph_credential: AsyncTokenCredential | None = None
) -> tuple[Services, Sweeper, TeamsEndpoint]:
    """Everything kambot runs on, built once: by `serve` around the web app, by `worker` without one."""
    endpoint = TeamsEndpoint(settings)
    db = Database(settings.database_url)
    trace_database(db.engine)
    rules = Rules.load(settings.rules_file)
    catalogue = Catalogue.load(settings.services_file)
    selection = Selection.load(settings.selection_file)
    metrics = Metrics()
    sealer = Sealer(BOUND_VERBS, settings.card_secret)
    sender, sweeper = outbox(settings, db, endpoint.connector, sealer, metrics, graph_credential, catalogue, selection)
    services = Services(
        settings=settings,
        db=db,
        sender=sender,
        sealer=sealer,
        graph_credential=graph_credential,
        rules=rules,
        catalogue=catalogue,
        selection=selection,
        metrics=metrics,
    )
    endpoint.serve(services)
    return services, sweeper, endpoint


def create_app(settings: Settings, graph_credential: AsyncTokenCredential | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    services, sweeper, endpoint = build(settings, graph_credential)
    app[SERVICES] = services
    app[SWEEPER] = sweeper

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(SQLAlchemyError, OSError):  # not migrated or unreachable: the first turn loads it
            await services.sealer.ready(services.db)
        freeze_startup_objects()
        if settings.background_jobs:
            sweeper.start()
        warming = asyncio.create_task(keep_figures_warm(services)) if settings.warm_figures else None
        yield
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        if services.provisioning is not None:
            services.provisioning.cancel()
        await sweeper.close()
        await services.db.close()

    app.cleanup_ctx.append(lifecycle)
    if settings.metrics_port:
        app.cleanup_ctx.append(_metrics_listener)
    app.router.add_post("/api/messages", endpoint.messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    TabPages(services).register(app)
    return app


async def keep_figures_warm(services: Services) -> None:
    """The steering figures of complete days for every active account, computed at start-up and just after each
    midnight, and the day's health scores recorded then (the portfolio reads them: kam.health.todays_health),
    so that no one waits seconds for the first portfolio or Insights page of the day. A database not yet
    reachable or migrated is tried again a minute later."""
    while True:
        today = dt.date.today()  # the day the pages ask for (bot/tabs/pages.py)
        try:
            async with services.db.transaction() as session:
                ids = list(await session.scalars(select(Account.id).where(Account.active.is_(True))))
                await services.kpi_cache.warm(session, ids, today)
            async with services.db.transaction() as session:
                await record_health(session, today, services.selection.health, services.kpi_cache)
        except Exception as error:  # noqa: BLE001 - whatever it was, the pages compute the figures themselves
            log.warning("steering figures not computed ahead: %s", error.__class__.__name__)
            await asyncio.sleep(60)
            continue
        midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 0, 30))
        await asyncio.sleep(max(60.0, (midnight - dt.datetime.now()).total_seconds()))


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The outbox and the scheduled jobs, with no web app (and /metrics on its port, when one is set)."""
    services, sweeper, _ = build(settings)
    freeze_startup_objects()
    async with contextlib.AsyncExitStack() as stack:
        if settings.metrics_port:
            await stack.enter_async_context(metrics_listener(services))
        sweeper.start()
        try:
            await stop.wait()
        finally:
            await sweeper.close()
            await services.db.close()
