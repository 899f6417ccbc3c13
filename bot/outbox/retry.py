"""Retrying calls to Microsoft services: only what is transient, honouring Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from sqlalchemy import exc

from bot.traces import failed_try

T = TypeVar("T")

# What Microsoft lists as retryable; anything else (403, 404, 413 MessageSizeTooBig, ...) would fail again.
TRANSIENT_STATUSES = frozenset({412, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0


def status_of(error: BaseException) -> int | None:
    """The HTTP status of a failed connector call (msrest's HttpOperationError carries the response)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None


def retry_after_of(error: BaseException) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        value = headers.get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def is_transient(error: BaseException) -> bool:
    """A service's "later" (429, 412, 5xx), a timeout or a lost connection, also to the database (a send's
    booking in the shared windows): worth trying again, never a reason to give a message up."""
    if isinstance(error, (asyncio.TimeoutError, aiohttp.ClientConnectionError, ConnectionError)):
        return True
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError)):
        return True
    return status_of(error) in TRANSIENT_STATUSES


def delay_for(error: BaseException, attempt: int, policy: RetryPolicy) -> float:
    """Retry-After when the service names it, else exponential backoff with full jitter."""
    named = retry_after_of(error)
    if named is not None:
        return min(named, policy.max_delay)
    return random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy = RetryPolicy(),
    observe: Callable[[BaseException], None] | None = None,
) -> T:
    """`observe` hears of every failure (to count throttling), retried or not; so does the current span, as an event."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except Exception as error:
            if observe is not None:
                observe(error)
            if not is_transient(error) or attempt == policy.attempts:
                failed_try(attempt, status_of(error), error, None)
                raise
            delay = delay_for(error, attempt, policy)
            failed_try(attempt, status_of(error), error, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
