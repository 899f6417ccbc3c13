"""The outbox: messages owed, claimed and marked by whoever sends them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, OutboxMessage, OutboxStatus, Role, utcnow

MAX_ATTEMPTS = 8
CHANNEL_WELCOME = "channel.welcome"  # subject: the account whose new channel is greeted
DELIVERY_FAILED = "outbox.failed"  # subject: a KA manager; detail: which message failed and why


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


async def report_failure(session: AsyncSession, message: OutboxMessage) -> int:
    """Tell the account's KA managers that a message will not arrive, so that a person can fix it.

    A failed report is not reported again (the manager may be the one who cannot be reached).
    """
    if message.kind == DELIVERY_FAILED or message.account_id is None:
        return 0
    account = await session.get(Account, message.account_id)
    if account is None:
        return 0
    detail = {"failed_id": message.id, "kind": message.kind, "error": (message.last_error or "")[:300]}
    managers = [m.person for m in account.members if m.role == Role.MANAGER]
    for manager in managers:
        session.add(OutboxMessage(kind=DELIVERY_FAILED, subject_id=manager.id, account_id=account.id, detail=detail))
    return len(managers)


async def failed_messages(session: AsyncSession) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED).order_by(OutboxMessage.id)
    return list(await session.scalars(query))


async def retry_failed(session: AsyncSession, ids: list[int] | None = None) -> int:
    """Put failed messages back in the queue (after someone fixed the cause); all of them without `ids`."""
    count = 0
    for message in await failed_messages(session):
        if ids is None or message.id in ids:
            message.status = OutboxStatus.PENDING
            message.attempts = 0
            message.not_before = utcnow()
            count += 1
    return count
