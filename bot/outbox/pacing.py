"""Staying under the Bot Connector's limits: at most so many sends per window, per key (tenant, conversation)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque


class RateLimiter:
    """At most `limit` acquisitions in any `window` seconds for each key; callers wait their turn, in order."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def acquire(self, key: str) -> None:
        async with self._locks[key]:
            calls = self._calls[key]
            while True:
                now = time.monotonic()
                while calls and now - calls[0] >= self.window:
                    calls.popleft()
                if len(calls) < self.limit:
                    calls.append(now)
                    return
                await asyncio.sleep(self.window - (now - calls[0]))
