"""The spans and measurements of turns and outbox deliveries, through the OpenTelemetry API.

Until a process installs an SDK (bot/telemetry.py) every span and measurement is a no-op, so
local mode runs the very same code and sends nothing. (Graph calls have theirs in
graph/gateway.py, which may not import bot/; database statements are the SQLAlchemy
instrumentation's.)

What is recorded is ids and names, never what people wrote: the activity's type, its invoke name
and the command or card verb the routing table ran it as (never the text typed), the activity,
conversation and tenant ids, outbox row ids and kinds, HTTP statuses. A failure is named by its
type, never its message, which may quote the user. Our attributes are named `kambot.*`: the Azure
Monitor exporter leaves attributes named `http.*`, `db.*` and the like out of what it sends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from bot.outbox.address import Address
from kam.models import OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from bot.outbox.sender import Job

ACTIVITY_ID = "kambot.activity_id"
CONVERSATION_ID = "kambot.conversation_id"
TENANT_ID = "kambot.tenant_id"
ACTIVITY_TYPE = "kambot.activity_type"
INVOKE_NAME = "kambot.invoke_name"
COMMAND = "kambot.command"
VERB = "kambot.verb"
OUTBOX_ID = "kambot.outbox_id"
OUTBOX_KIND = "kambot.outbox_kind"
ATTEMPTS = "kambot.attempts"
ATTEMPT = "kambot.attempt"
OUTCOME = "kambot.outcome"
STATUS = "kambot.status"
ERROR = "kambot.error"
RETRY_IN = "kambot.retry_in_seconds"

tracer = trace.get_tracer("kambot")
meter = metrics.get_meter("kambot")
turn_seconds = meter.create_histogram("kambot.turn.duration", unit="s", description="Turns, by activity type")
outbox_sends = meter.create_counter(
    "kambot.outbox.sends", description="Outbox rows posted (or given up on), by kind and outcome"
)
connector_retries = meter.create_counter(
    "kambot.connector.retries", description="Bot Connector calls tried again, by the HTTP status that failed"
)

SenderType = TypeVar("SenderType")


@contextlib.contextmanager
def turn(
    activity_type: str,
    invoke_name: str | None,
    activity_id: str | None,
    conversation_id: str | None,
    tenant_id: str | None,
) -> Iterator[None]:
    """A span for one turn, and its duration."""
    attributes = {
        ACTIVITY_TYPE: activity_type,
        INVOKE_NAME: invoke_name,
        ACTIVITY_ID: activity_id,
        CONVERSATION_ID: conversation_id,
        TENANT_ID: tenant_id,
    }
    started = time.perf_counter()
    with tracer.start_as_current_span(
        f"turn {activity_type}",
        attributes={key: value for key, value in attributes.items() if value},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except Exception as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            turn_seconds.record(time.perf_counter() - started, {ACTIVITY_TYPE: activity_type})


def ran_command(key: str) -> None:
    """The command a message was routed to, by its catalogue key: what the user typed stays out."""
    trace.get_current_span().set_attribute(COMMAND, key)


def ran_verb(verb: str) -> None:
    """The card verb an action was routed to (a name from the routing table, not the card's data)."""
    trace.get_current_span().set_attribute(VERB, verb)


def traced_delivery(
    deliver: Callable[[SenderType, Job], Awaitable[int]],
) -> Callable[[SenderType, Job], Awaitable[int]]:
    """A span per outbox row posted, from the post to the row marked; a root of its own (the
    sender works outside the turns that queued its rows)."""

    async def delivering(sender: SenderType, job: Job) -> int:
        destination = job.rendered.destination if job.rendered is not None else None
        attributes: dict[str, str | int] = {OUTBOX_ID: job.claimed.message_id, ATTEMPTS: job.attempts}
        if isinstance(destination, Address):
            attributes[CONVERSATION_ID] = destination.conversation_id
        with tracer.start_as_current_span(
            "outbox send",
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,  # an exception's text may carry a statement's parameters
        ):
            return await deliver(sender, job)

    return delivering


def delivered(message: OutboxMessage, throttled: bool) -> None:
    """What became of a row, once marked: on its span, and counted by kind and outcome."""
    if message.status == OutboxStatus.SENT:
        outcome = "sent"
    elif message.status == OutboxStatus.FAILED:
        outcome = "failed"
    else:
        outcome = "throttled" if throttled else "retry"
    span = trace.get_current_span()
    span.set_attributes({OUTBOX_KIND: message.kind, ATTEMPTS: message.attempts, OUTCOME: outcome})
    if outcome != "sent":
        span.set_status(Status(StatusCode.ERROR, outcome))
    outbox_sends.add(1, {OUTBOX_KIND: message.kind, OUTCOME: outcome})


def failed_try(attempt: int, status: int | None, error: BaseException, retry_in: float | None) -> None:
    """A Bot Connector call that failed: an event on the span it belongs to; counted when it is tried again."""
    attributes: dict[str, str | int | float] = {ATTEMPT: attempt, ERROR: type(error).__name__}
    if status is not None:
        attributes[STATUS] = status
    if retry_in is not None:
        attributes[RETRY_IN] = round(retry_in, 3)
        connector_retries.add(1, {STATUS: str(status or "timeout")})
    trace.get_current_span().add_event("retry" if retry_in is not None else "failed", attributes)
