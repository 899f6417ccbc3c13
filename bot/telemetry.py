"""Telemetry at start-up: OpenTelemetry's SDK, sending to Application Insights when it is configured.

`kambot serve` and `kambot worker` call `start` once, before they build anything: with
APPLICATIONINSIGHTS_CONNECTION_STRING set outside local mode it configures Microsoft's Azure
Monitor distro, which installs the process's tracer and meter providers and instruments requests
(botbuilder's Bot Connector client; httpx, msgraph-sdk's, is left out: graph/gateway.py traces Graph
calls without their URLs, which may name a user), and adds what the distro leaves out: aiohttp's
server and client, threads, and the database engine (`trace_database`). Otherwise
nothing is installed, and the spans and measurements of bot/traces.py cost next to nothing and go
nowhere.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import metrics, trace

from bot.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

DEFAULT_INGESTION = "https://dc.services.visualstudio.com/"
# Read from the environment only (by the distro and the aiohttp instrumentation), so given there, as defaults
# an operator may override. Logs stay on stdout, where Container Apps collects them: the distro (1.8.11) takes
# no `disable_logging=True` for an answer, only OTEL_LOGS_EXPORTER. Health probes and Prometheus' scrapes
# would be most of the requests traced.
LOGS_EXPORTER = ("OTEL_LOGS_EXPORTER", "none")
EXCLUDED_URLS = ("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", "healthz,readyz,metrics")


class UnusableConnectionString(Exception):
    """Azure Monitor refused APPLICATIONINSIGHTS_CONNECTION_STRING (the reason is its own)."""


def start(settings: Settings, role: str) -> None:
    """Configure this process's telemetry, once, before the web app or the worker is built.

    The distro samples at most 5 traces a second (its default: turns are rarely more, while an
    outbox fan-out of thousands of cards is not worth a bill); OTEL_TRACES_SAMPLER and
    OTEL_TRACES_SAMPLER_ARG choose another sampler.
    """
    connection_string = settings.applicationinsights_connection_string.strip()
    if not connection_string:
        log.info("telemetry: off (APPLICATIONINSIGHTS_CONNECTION_STRING is not set)")
        return
    if settings.local_mode:
        log.warning("telemetry: off in local mode (no KAMBOT_APP_ID); APPLICATIONINSIGHTS_CONNECTION_STRING ignored")
        return
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    os.environ.setdefault(*LOGS_EXPORTER)
    try:
        configure_azure_monitor(
            connection_string=connection_string,
            resource=Resource.create({SERVICE_NAME: f"kambot-{role}"}),
            # Graph's request URLs may name a user by UPN (looking up account team members): Graph calls are
            # traced by graph/gateway.py instead, by the resource they count against (team, channel, mailbox id).
            instrumentation_options={"httpx": {"enabled": False}},
        )
    except ValueError as error:
        raise UnusableConnectionString(str(error)) from None
    instrument_libraries()
    log.info("telemetry: traces and metrics go to Application Insights at %s", ingestion_endpoint(connection_string))


def ingestion_endpoint(connection_string: str) -> str:
    parts = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    return parts.get("IngestionEndpoint", DEFAULT_INGESTION)


class Instrumentor(Protocol):
    def instrument(self, **options: Any) -> None: ...

    def uninstrument(self, **options: Any) -> None: ...


def _instrumentors() -> list[Instrumentor]:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    return [AioHttpServerInstrumentor(), AioHttpClientInstrumentor(), ThreadingInstrumentor()]


def instrument_libraries() -> None:
    """What the distro leaves out. aiohttp's server before the web app is built: it replaces aiohttp's
    Application class with one that adds its middleware. Threads: botbuilder's client (msrest) sends
    each request from the event loop's thread pool, where without this the request would start a
    trace of its own instead of joining the turn's or the delivery's."""
    os.environ.setdefault(*EXCLUDED_URLS)
    for instrumentor in _instrumentors():
        instrumentor.instrument()


def uninstrument_libraries() -> None:
    for instrumentor in _instrumentors():
        instrumentor.uninstrument()


def tracing_installed() -> bool:
    """Whether this process has a tracer provider of its own (`start` configured one; tests install theirs)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def trace_database(engine: AsyncEngine) -> None:
    """A span per SQL statement inside a traced operation, when spans go anywhere.

    Statements carry their placeholders only. Attached per engine, as the SQLAlchemy instrumentor
    does for the engine it is given: the instrumentor itself runs once per process, and kam.storage
    holds create_async_engine from before it could wrap it. Not attached in local mode, where it
    would cost every statement for nothing.
    """
    if not tracing_installed():
        return
    from opentelemetry.instrumentation.sqlalchemy import __version__ as version
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    statements = InsideOperations(trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", version))
    connections = metrics.get_meter("opentelemetry.instrumentation.sqlalchemy", version).create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="Connections by state"
    )
    EngineTracer(statements, engine.sync_engine, connections)


class InsideOperations(trace.NoOpTracer):
    """Spans only as parts of something traced (a request, a turn, a delivery, a Graph call).

    On their own, as at start-up and in the periodic sweep's reads, each statement would be a
    trace of one span: noise that costs as much as what it hides. (NoOpTracer for its
    start_as_current_span, which starts its span through start_span.)
    """

    def __init__(self, inner: trace.Tracer) -> None:
        self._inner = inner

    def start_span(self, name: str, context: Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._inner.start_span(name, context, *args, **kwargs)
