"""The outbox: messages owed, claimed and marked by whoever sends them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import OutboxMessage, OutboxStatus, utcnow

MAX_ATTEMPTS = 8
CHANNEL_WELCOME = "channel.welcome"  # subject: the account whose new channel is greeted


async def claim_due(session: AsyncSession, limit: int = 50) -> list[OutboxMessage]:
    """Pending rows whose time has come, locked so that another sender skips them."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


def mark_sent(message: OutboxMessage) -> None:
    message.status = OutboxStatus.SENT
    message.sent_at = utcnow()
    message.attempts += 1


def mark_retry(message: OutboxMessage, error: str, delay_seconds: float) -> None:
    """Try again later, or give up visibly once the attempts are spent."""
    message.attempts += 1
    message.last_error = error[:2000]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
    else:
        message.not_before = utcnow() + dt.timedelta(seconds=delay_seconds)


def mark_failed(message: OutboxMessage, error: str) -> None:
    """A failure that needs a person (no channel reference, app removed): never retried."""
    message.attempts += 1
    message.status = OutboxStatus.FAILED
    message.last_error = error[:2000]


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    return int(await session.scalar(query) or 0)
