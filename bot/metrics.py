"""Prometheus metrics: turns, the outbox (depth, age, outcomes), throttling by the Bot Connector and Graph, nudges,
activity feed notifications.

One registry per app, so that several apps in one process (tests) do not share counts.
Gauges that describe the database (outbox depth and age, nudges answered) are read when scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from sqlalchemy import func, select

from kam.models import MeetingNudge, NudgeSent, OutboxMessage, OutboxStatus, aware, utcnow
from kam.nudges import LOGGED, NOT_RELEVANT
from kam.storage import Database


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("kambot_turns", "Activities handled, by type", ["type"], registry=self.registry)
        self.outbox_sent = Counter("kambot_outbox_sent", "Outbox messages delivered", ["kind"], registry=self.registry)
        self.outbox_retried = Counter(
            "kambot_outbox_retried",
            "Outbox deliveries to try again, by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.outbox_failed = Counter(
            "kambot_outbox_failed", "Outbox messages given up on (need a person)", ["kind"], registry=self.registry
        )
        self.connector_throttled = Counter(
            "kambot_connector_throttled", "429 answers from the Bot Connector", registry=self.registry
        )
        self.graph_throttled = Counter(
            "kambot_graph_throttled", "429 answers from Microsoft Graph", registry=self.registry
        )
        self.feed_notifications = Counter(
            "kambot_feed_notifications",
            "Activity feed notifications by outcome: sent, deferred (paced), not_granted (the team has not granted "
            "TeamsActivity.Send.Group), not_in_team (Teams refused the person), skipped (a refusal remembered), failed",
            ["outcome"],
            registry=self.registry,
        )
        self.calendar_reads = Counter(
            "kambot_calendar_reads", "Calendars read for after-meeting nudges", ["outcome"], registry=self.registry
        )
        self.nudges_sent = Counter(
            "kambot_nudges_sent", "Nudges delivered by this instance", ["kind"], registry=self.registry
        )
        self.nudges_answered = Gauge(
            "kambot_nudges_answered",
            "Nudges answered so far, all instances (logged: something was logged; not_relevant: dismissed)",
            ["kind", "answer"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge("kambot_outbox_depth", "Outbox messages waiting", registry=self.registry)
        self.outbox_age = Gauge(
            "kambot_outbox_oldest_age_seconds", "Age of the oldest waiting outbox message", registry=self.registry
        )
        self.outbox_failed_now = Gauge(
            "kambot_outbox_failed_rows", "Outbox messages that failed and wait for a person", registry=self.registry
        )

    async def render(self, db: Database) -> bytes:
        async with db.transaction() as session:
            pending = OutboxMessage.status == OutboxStatus.PENDING
            depth = await session.scalar(select(func.count()).select_from(OutboxMessage).where(pending))
            oldest = await session.scalar(select(func.min(OutboxMessage.created_at)).where(pending))
            failed = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
            )
            weekly = await session.scalar(
                select(func.count()).select_from(NudgeSent).where(NudgeSent.answered_at.is_not(None))
            )
            meetings = dict(
                (await session.execute(select(MeetingNudge.answer, func.count()).group_by(MeetingNudge.answer))).all()
            )
        self.nudges_answered.labels(kind="weekly", answer=LOGGED).set(weekly or 0)
        for answer in (LOGGED, NOT_RELEVANT):
            self.nudges_answered.labels(kind="meeting", answer=answer).set(meetings.get(answer, 0))
        self.outbox_depth.set(depth or 0)
        self.outbox_failed_now.set(failed or 0)
        if oldest is not None:
            self.outbox_age.set(max(0.0, (utcnow() - aware(oldest)).total_seconds()))
        else:
            self.outbox_age.set(0)
        return generate_latest(self.registry)
