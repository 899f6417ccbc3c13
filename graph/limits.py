"""Keeping under Microsoft Graph's throttling limits instead of running into them."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

# Microsoft's documented limits for Teams resources (per app): 4 requests per second
# on one team or one channel, 30 writes per second in a tenant.
PER_RESOURCE_RPS = 4.0
TENANT_WRITES_RPS = 30.0
# Requests arrive at Graph a little less evenly than we send them.
SAFETY = 1.05


class NotNow(Exception):
    """A request's turn is too far off to wait for here: its caller tries again in `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paced: the next turn is in {seconds:.1f} s")
        self.seconds = seconds


class Pacer:
    """Spaces calls on each key at most `rate` per second; callers wait their turn, in order."""

    def __init__(self, rate: float) -> None:
        self._interval = SAFETY / rate
        self._next: dict[str, float] = defaultdict(float)
        self._lock = asyncio.Lock()

    async def wait(self, key: str) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next[key])
            self._next[key] = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


class GraphLimits:
    """One pacer per team or channel, one for the tenant's writes."""

    def __init__(
        self, per_resource_rps: float = PER_RESOURCE_RPS, tenant_writes_rps: float = TENANT_WRITES_RPS
    ) -> None:
        self._resources = Pacer(per_resource_rps)
        self._writes = Pacer(tenant_writes_rps)

    async def before(self, resource: str, *, write: bool) -> None:
        await self._resources.wait(resource)
        if write:
            await self._writes.wait("tenant")


# Activity feed notifications. Graph's Teams service limits: POST .../sendActivityNotification, 5 requests
# per second per app per tenant (besides the 4 a second on one team). Microsoft's best practices for activity
# feed notifications: at most 10 a minute to one user, beyond which Teams throttles them.
FEED_TENANT_RPS = 5
FEED_PER_TEAM_RPS = int(PER_RESOURCE_RPS)
FEED_PER_USER = 10
FEED_PER_USER_SECONDS = 60.0
