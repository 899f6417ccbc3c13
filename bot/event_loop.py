"""The event loop kambot's long-running processes (serve, worker) run on.

uvloop (libuv) where it is installed, which is every platform but Windows: it wakes a
waiting turn sooner after each database and HTTP round trip (a contact turn makes six to
the database). asyncio's own loop elsewhere; the code is the same on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows: uvloop is not built for it
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, Result]) -> Result:
    """asyncio.run, on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
