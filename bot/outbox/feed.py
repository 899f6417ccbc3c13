"""Activity feed notifications through Graph: paced with every other instance, and a team that said no is
not asked again on every card.

Graph counts `sendActivityNotification` per app and tenant (5 a second) and, like every request on a team,
per team (4 a second); Microsoft asks for at most 10 notifications a minute to one user (graph/limits.py).
Each request books its moment against the three in kam.send_slots, the sliding windows in the database that
the Bot Connector's pacing uses too, so that every instance counts every other's. A notification that cannot
go within a second (its person had their 10 this minute) is not waited for: its outbox row is given back
until its moment, so that the cards behind it are not held up (NotNow). A retry after a 429 waits for its moment.

A 403 means the team has not granted TeamsActivity.Send.Group to kambot, or kambot is not installed for the
person in that team. The team's grants (GET /teams/{id}/permissionGrants, allowed by kambot's
TeamsAppInstallation.Read.Group) tell which. Either refusal is remembered for an hour in this process, so
that neither the team nor the person is asked again on every card; the 1:1 card went in any case.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from enum import StrEnum

from bot.metrics import Metrics
from bot.outbox.address import Feed
from bot.outbox.pacing import Granted, answered, take_moment
from bot.outbox.retry import is_transient
from graph.activity_feed import SEND_IN_TEAM, ActivityNotification, Notified, may_send_in_team
from graph.gateway import TRANSIENT, GraphFailure, TeamsGateway
from graph.limits import FEED_PER_TEAM_RPS, FEED_PER_USER, FEED_PER_USER_SECONDS, FEED_TENANT_RPS, NotNow
from kam.send_slots import Limited, Window
from kam.storage import Database

log = logging.getLogger(__name__)

MARGIN = 0.1  # added to every window: a request reaches Graph a little after its booked moment
MOST_WAIT = 1.0  # a notification that cannot go within this long gives its row back
SLACK = 0.05
REMEMBERED_SECONDS = 3600.0
UNSURE_SECONDS = 60.0  # a refusal whose reason could not be read
RETRY_SECONDS = 30.0  # after a failure Graph may get over (5xx, a 429 that outlasted the retries, a timeout)


class FeedOutcome(StrEnum):
    SENT = "sent"
    NOT_GRANTED = "not_granted"  # the team has not granted TeamsActivity.Send.Group to kambot
    NOT_IN_TEAM = "not_in_team"  # granted, but Teams refused this person: kambot is not there for them
    REMEMBERED = "skipped"  # one of those refusals, remembered: not asked again yet


def retry_in(error: Exception, attempts: int) -> float | None:
    """When to try a failed notification again (Graph or the database may get over it), or None: it would fail
    again."""
    if isinstance(error, GraphFailure) and (error.status is None or error.status in TRANSIENT):
        return RETRY_SECONDS * 2**attempts
    if is_transient(error):
        return RETRY_SECONDS * 2**attempts
    return None


class ActivityFeed:
    """`client_id`: the Entra app kambot calls Graph as, whom the team's grant must name."""

    def __init__(
        self,
        db: Database,
        gateway: Callable[[], TeamsGateway],
        metrics: Metrics,
        *,
        client_id: str,
        tenant: str,
        remembered_seconds: float = REMEMBERED_SECONDS,
    ) -> None:
        self._db = db
        self._make_gateway = gateway
        self._gateway: TeamsGateway | None = None  # built on first use: msgraph's client and the credential
        self._metrics = metrics
        self._client_id = client_id
        self._tenant = tenant
        self._remembered_seconds = remembered_seconds
        self._refused: dict[str, float] = {}  # "team:<id>" or "person:<team>:<user>" -> until (monotonic)
        # Until a team has answered once, its notifications go one at a time: a refusal is asked once, not once
        # for every notification that happened to be on its way at the same time.
        self._answered_teams: set[str] = set()
        self._first: dict[str, asyncio.Lock] = {}

    def _limited(self, feed: Feed) -> tuple[Limited, ...]:
        return (
            Limited(f"graph-feed-user:{feed.user_id}", (Window(FEED_PER_USER, FEED_PER_USER_SECONDS),)),
            Limited(f"graph-team:{feed.team_id}", (Window(FEED_PER_TEAM_RPS, 1.0),)),
            # Shared: every booking names it, so its lock keeps all of them apart (see kam.send_slots.book).
            Limited(f"graph-feed-tenant:{self._tenant}", (Window(FEED_TENANT_RPS, 1.0),), shared=True),
        )

    async def _turn(self, feed: Feed, first: bool) -> Granted:
        """Wait for a booked moment. The first attempt gives way (NotNow) when it is further off than MOST_WAIT."""
        try:
            return await take_moment(
                self._db,
                self._limited(feed),
                margin=MARGIN,
                slack=MOST_WAIT if first else SLACK,
                abandoned=[],
                give_way=first,
            )
        except NotNow:
            self._metrics.feed_notifications.labels(outcome="deferred").inc()
            raise

    def _remembered(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(self._refused.get(key, 0.0) > now for key in keys)

    async def send(self, feed: Feed, notification: ActivityNotification) -> FeedOutcome:
        """Send one notification, or say why not; raises NotNow (not yet) and GraphFailure (see `retry_in`)."""
        if feed.team_id in self._answered_teams:
            return await self._send(feed, notification)
        async with self._first.setdefault(feed.team_id, asyncio.Lock()):
            outcome = await self._send(feed, notification)
            if outcome in (FeedOutcome.SENT, FeedOutcome.NOT_IN_TEAM):
                self._answered_teams.add(feed.team_id)  # a team that refused goes one at a time again, later
            return outcome

    async def _send(self, feed: Feed, notification: ActivityNotification) -> FeedOutcome:
        team, person = f"team:{feed.team_id}", f"person:{feed.team_id}:{feed.user_id}"
        if self._remembered(team, person):
            self._metrics.feed_notifications.labels(outcome=FeedOutcome.REMEMBERED).inc()
            return FeedOutcome.REMEMBERED
        booked: list[Granted] = []

        async def pace(attempt: int) -> None:
            booked.append(await self._turn(feed, first=attempt == 1))

        if self._gateway is None:
            self._gateway = self._make_gateway()
        try:
            notified = await self._gateway.send_activity_notification(feed.team_id, notification, pace)
        except GraphFailure:
            self._metrics.feed_notifications.labels(outcome="failed").inc()
            raise
        finally:
            if booked:  # the last try's moment, counted from its answer
                await answered(self._db, booked[-1], MARGIN)
        outcome = FeedOutcome.SENT if notified == Notified.SENT else await self._refusal(feed, team, person)
        self._metrics.feed_notifications.labels(outcome=outcome).inc()
        return outcome

    async def _refusal(self, feed: Feed, team: str, person: str) -> FeedOutcome:
        assert self._gateway is not None
        until = time.monotonic() + self._remembered_seconds
        try:
            granted = may_send_in_team(await self._gateway.permission_grants(feed.team_id), self._client_id)
        except GraphFailure as failure:
            # Not knowing why is no answer to remember for an hour: a minute, then the team is asked again.
            log.warning("activity feed: the grants of team %s cannot be read: %s", feed.team_id, failure)
            granted, until = False, time.monotonic() + UNSURE_SECONDS
        if granted:
            self._refused[person] = until
            log.info(
                "activity feed: team %s refused a notification to %s, who is not reachable there; the 1:1 card "
                "went, and they are not sent feed notifications in this team for %.0f minutes",
                feed.team_id,
                feed.user_id,
                self._remembered_seconds / 60,
            )
            return FeedOutcome.NOT_IN_TEAM
        self._refused[team] = until
        log.warning(
            "activity feed: team %s has not granted %s to kambot (Entra app %s), so the 1:1 cards go without feed "
            "notifications; asked again in %.0f minutes. Fix: a team owner or Teams admin updates kambot in the "
            "team and accepts its permissions (kambot doctor shows each team)",
            feed.team_id,
            SEND_IN_TEAM,
            self._client_id or "unknown",
            self._remembered_seconds / 60,
        )
        return FeedOutcome.NOT_GRANTED
