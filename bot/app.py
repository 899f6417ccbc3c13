"""The aiohttp application: /api/messages for Teams, /healthz for operators."""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging

import jwt
from aiohttp import web
from azure.core.credentials_async import AsyncTokenCredential
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from msrest.exceptions import DeserializationError
from prometheus_client import CONTENT_TYPE_LATEST

from bot.adapter import build_adapter
from bot.graph_access import graph_gateway
from bot.meeting_watch import MeetingWatch
from bot.messenger import Messenger
from bot.metrics import Metrics
from bot.services import Services
from bot.settings import Settings
from bot.tabs import TabPages
from bot.teams_bot import KamBot
from kam.migrate import head_revision
from kam.nudges import WEEKDAYS, NudgeTime
from kam.rules import Rules
from kam.storage import Database

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
SERVICES = web.AppKey("services", Services)
BOT = web.AppKey("bot", KamBot)
ADAPTER = web.AppKey("adapter", CloudAdapter)


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
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return _bad_request("The body is not JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
        return _bad_request("The body is not an activity.")
    try:
        Activity().deserialize(body)
    except (DeserializationError, TypeError, ValueError, AttributeError):
        return _bad_request("The activity could not be read.")
    try:
        response = await request.app[ADAPTER].process(request, request.app[BOT])
    except (jwt.PyJWTError, PermissionError) as error:
        # botbuilder lets the JWT library's verdicts escape as plain exceptions.
        log.info("rejected a request with an invalid token: %s", error)
        return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
    return response or web.Response(status=201)


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
    services = request.app[SERVICES]
    body = await services.metrics.render(services.db)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


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
    )
    services = Services(
        settings=settings, db=db, messenger=messenger, graph_credential=graph_credential, rules=rules, metrics=metrics
    )
    app[SERVICES] = services
    app[ADAPTER] = adapter
    app[BOT] = KamBot(services)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        freeze_startup_objects()
        if settings.background_jobs:
            messenger.start_sweeper()
        yield
        if services.provisioning is not None:
            services.provisioning.cancel()
        await messenger.close()
        await db.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    TabPages(services).register(app.router)
    return app
