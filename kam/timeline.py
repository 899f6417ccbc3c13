"""The account's timeline: contacts and decisions, newest first, a page at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Contact, Decision

PAGE_SIZE = 5


@dataclass(frozen=True)
class Entry:
    kind: Literal["contact", "decision"]
    id: int
    on: dt.date
    created_at: dt.datetime


@dataclass(frozen=True)
class Page:
    contacts: dict[int, Contact]
    decisions: dict[int, Decision]
    entries: list[Entry]
    total: int
    offset: int

    @property
    def has_older(self) -> bool:
        return self.offset + len(self.entries) < self.total


async def timeline_page(session: AsyncSession, account_id: int, offset: int = 0, size: int = PAGE_SIZE) -> Page:
    """One page of the account's timeline, by the date of the contact or decision, then by when it was logged."""
    items = union_all(
        select(literal("contact").label("kind"), Contact.id, Contact.met_on.label("on"), Contact.created_at).where(
            Contact.account_id == account_id
        ),
        select(
            literal("decision").label("kind"), Decision.id, Decision.effective_on.label("on"), Decision.created_at
        ).where(Decision.account_id == account_id),
    ).subquery()
    total = int(await session.scalar(select(func.count()).select_from(items)) or 0)
    rows = (
        await session.execute(
            select(items)
            .order_by(items.c.on.desc(), items.c.created_at.desc(), items.c.id.desc())
            .offset(offset)
            .limit(size)
        )
    ).all()
    entries = [Entry(row.kind, row.id, row.on, row.created_at) for row in rows]
    contact_ids = [e.id for e in entries if e.kind == "contact"]
    decision_ids = [e.id for e in entries if e.kind == "decision"]
    contacts = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
    decisions = {d.id: d for d in await session.scalars(select(Decision).where(Decision.id.in_(decision_ids)))}
    return Page(contacts, decisions, entries, total, offset)


@dataclass(frozen=True)
class Activity:
    contacts: int
    decisions: int
    last_contact: dt.date | None


async def recent_activity(session: AsyncSession, account_id: int, since: dt.date) -> Activity:
    """How much the team logged for an account since a date, and when it last met the customer."""
    contacts = await session.execute(
        select(func.count(), func.max(Contact.met_on)).where(Contact.account_id == account_id, Contact.met_on >= since)
    )
    count, last = contacts.one()
    last_any = await session.scalar(select(func.max(Contact.met_on)).where(Contact.account_id == account_id))
    decisions = await session.scalar(
        select(func.count())
        .select_from(Decision)
        .where(Decision.account_id == account_id, Decision.effective_on >= since)
    )
    return Activity(int(count or 0), int(decisions or 0), last_any or last)
