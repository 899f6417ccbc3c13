"""The aiohttp application: /api/messages for Teams, /healthz for operators."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hmac
import logging
from collections.abc import AsyncIterator

import jwt
from aiohttp import web
from azure.core.credentials_async import AsyncTokenCredential
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.exceptions import DeserializationError
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from bot.teams.adapter import build_adapter
from bot.teams.envelope import NotAnActivity, read_activity
from bot.admin.graph_access import graph_gateway
from bot.outbox.meeting_watch import MeetingWatch
from bot.outbox.sender import Messenger
from bot.metrics import Metrics
from bot.routes import BOUND_VERBS
from bot.sealer import Sealer
from bot.services import Services
from bot.settings import Settings
from bot.tabs.pages import TabPages
from bot.teams.handler import KamBot
from kam.migrate import head_revision
from kam.nudges import WEEKDAYS, NudgeTime
from kam.rules import Rules
from kam.storage import Database

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
SERVICES = web.AppKey("services", Services)
BOT = web.AppKey("bot", KamBot)
ADAPTER = web.AppKey("adapter", CloudAdapter)
METRICS_ONLY = web.AppKey("metrics_only", bool)


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


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": {"code": "BadRequest", "message": reason}}, status=400)


async def messages(request: web.Request) -> web.StreamResponse:
    """Validate the envelope here so that garbage gets a 400, not a stack trace."""
    settings = request.app[SERVICES].settings
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not settings.local_mode and (scheme != "Bearer" or not token.strip()):
        return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
    if "application/json" not in request.headers.get("Content-Type", ""):
        return web.json_response({"error": {"code": "UnsupportedMediaType"}}, status=415)
    try:
        body = read_activity(await request.read())
    except NotAnActivity as refused:
        return _bad_request(str(refused))
    try:
        activity = Activity().deserialize(body)
    except (DeserializationError, TypeError, ValueError, AttributeError):
        return _bad_request("The activity could not be read.")
    try:
        # The activity read once, here: botbuilder's own `process` would parse the body again.
        answer = await request.app[ADAPTER].process_activity(
            request.headers.get("Authorization", ""), activity, request.app[BOT].on_turn
        )
    except (jwt.PyJWTError, PermissionError) as error:
        # botbuilder lets the JWT library's verdicts escape as plain exceptions.
        log.info("rejected a request with an invalid token: %s", error)
        return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
    if answer is None:
        return web.Response(status=201)
    return web.json_response(serializer_helper(answer.body), status=answer.status)


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


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    settings = app[SERVICES].settings
    runner = web.AppRunner(metrics_app(app), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.metrics_port).start()
    yield
    await runner.cleanup()


def metrics_app(app: web.Application) -> web.Application:
    """/metrics alone, for a port of its own that the public ingress does not expose."""
    inner = web.Application()
    inner[SERVICES] = app[SERVICES]
    inner[METRICS_ONLY] = True
    inner.router.add_get("/metrics", metrics_page)
    return inner


def meeting_watch(
    settings: Settings, db: Database, metrics: Metrics, credential: AsyncTokenCredential | None
) -> MeetingWatch:
    gateway = graph_gateway(settings, credential, metrics.graph_throttled.inc)
    return MeetingWatch(
        db,
        gateway,
        metrics,
        every=dt.timedelta(minutes=settings.meeting_read_minutes),
        lookback=dt.timedelta(hours=settings.meeting_lookback_hours),
    )


def create_app(settings: Settings, graph_credential: AsyncTokenCredential | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    adapter = build_adapter(settings)
    db = Database(settings.database_url)
    rules = Rules.load(settings.rules_file)
    metrics = Metrics()
    sealer = Sealer(BOUND_VERBS, settings.card_secret)
    messenger = Messenger(
        adapter,
        db,
        app_id=settings.app_id,
        locale=settings.default_locale,
        sweep_seconds=settings.outbox_sweep_seconds,
        metrics=metrics,
        sends_per_second=settings.connector_sends_per_second,
        nudge_time=(
            NudgeTime(WEEKDAYS.index(settings.nudge_weekday), settings.nudge_hour)
            if settings.nudge_weekday in WEEKDAYS
            else None
        ),
        jobs=[meeting_watch(settings, db, metrics, graph_credential).run_once] if settings.meeting_nudges else [],
        tenant_ids=settings.tenant_ids,
        lease_seconds=settings.outbox_lease_seconds,
        sealer=sealer,
        card_memory_days=settings.form_max_age_days + 1,  # a form older than that is refused anyway
    )
    services = Services(
        settings=settings,
        db=db,
        messenger=messenger,
        sealer=sealer,
        graph_credential=graph_credential,
        rules=rules,
        metrics=metrics,
    )
    app[SERVICES] = services
    app[ADAPTER] = adapter
    app[BOT] = KamBot(services)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(SQLAlchemyError, OSError):  # not migrated or unreachable: the first turn loads it
            await sealer.ready(db)
        freeze_startup_objects()
        if settings.background_jobs:
            messenger.start_sweeper()
        yield
        if services.provisioning is not None:
            services.provisioning.cancel()
        await messenger.close()
        await db.close()

    app.cleanup_ctx.append(lifecycle)
    if settings.metrics_port:
        app.cleanup_ctx.append(_metrics_listener)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    TabPages(services).register(app)
    return app
