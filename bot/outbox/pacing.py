"""Staying under the Bot Connector's limits: at most so many sends per window, per key (tenant, conversation)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict


class Slot:
    """One request's place in a window: from when it was let go, or, once `done`, from its answer.

    The service counts a request when it arrives, which is after we let it go and before its
    answer comes back: counting from the answer keeps requests that were sent side by side, and
    arrived late or out of order, inside the service's window too.
    """

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at

    def done(self) -> None:
        self.at = max(self.at, time.monotonic())


class RateLimiter:
    """At most `limit` requests in any `window` seconds for each key; callers wait their turn, in order."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: defaultdict[str, list[Slot]] = defaultdict(list)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def acquire(self, key: str) -> Slot:
        async with self._locks[key]:
            while True:
                now = time.monotonic()
                # Answers come back in any order, so any slot may be the next to leave the window.
                calls = self._calls[key] = [c for c in self._calls[key] if now - c.at < self.window]
                if len(calls) < self.limit:
                    slot = Slot(now)
                    calls.append(slot)
                    return slot
                await asyncio.sleep(self.window - (now - min(c.at for c in calls)))
