"""The account's timeline: contacts and decisions, newest first, a page at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Acknowledgement, Contact, Decision, ItemKind, Stakeholder

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


@dataclass(frozen=True)
class LogFilters:
    kind: Literal["contact", "decision"] | None = None
    person_id: int | None = None
    stakeholder_id: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    open_only: bool = False


@dataclass(frozen=True)
class LogRow:
    kind: Literal["contact", "decision"]
    item: Contact | Decision
    on: dt.date
    acknowledged: int
    asked: int

    @property
    def waiting(self) -> bool:
        return self.acknowledged < self.asked


LOG_MAX = 1000


async def _ack_counts(session: AsyncSession, account_id: int, kind: ItemKind) -> dict[int, tuple[int, int]]:
    query = (
        select(Acknowledgement.item_id, func.count(), func.count(Acknowledgement.acknowledged_at))
        .where(
            Acknowledgement.account_id == account_id,
            Acknowledgement.item_kind == kind,
            Acknowledgement.required.is_(True),
        )
        .group_by(Acknowledgement.item_id)
    )
    return {row[0]: (int(row[2]), int(row[1])) for row in (await session.execute(query)).all()}


async def filtered_log(session: AsyncSession, account_id: int, filters: LogFilters) -> list[LogRow]:
    """The account's log for the Log tab and its CSV export: newest first, at most LOG_MAX rows."""
    rows: list[LogRow] = []
    if filters.kind in (None, "contact"):
        query = select(Contact).where(Contact.account_id == account_id)
        if filters.person_id is not None:
            query = query.where(Contact.logged_by_id == filters.person_id)
        if filters.stakeholder_id is not None:
            query = query.where(Contact.stakeholders.any(Stakeholder.id == filters.stakeholder_id))
        if filters.since:
            query = query.where(Contact.met_on >= filters.since)
        if filters.until:
            query = query.where(Contact.met_on <= filters.until)
        counts = await _ack_counts(session, account_id, ItemKind.CONTACT)
        for contact in await session.scalars(query.order_by(Contact.met_on.desc()).limit(LOG_MAX)):
            done, asked = counts.get(contact.id, (0, 0))
            rows.append(LogRow("contact", contact, contact.met_on, done, asked))
    if filters.kind in (None, "decision") and filters.stakeholder_id is None:
        decisions = select(Decision).where(Decision.account_id == account_id)
        if filters.person_id is not None:
            decisions = decisions.where(Decision.logged_by_id == filters.person_id)
        if filters.since:
            decisions = decisions.where(Decision.effective_on >= filters.since)
        if filters.until:
            decisions = decisions.where(Decision.effective_on <= filters.until)
        counts = await _ack_counts(session, account_id, ItemKind.DECISION)
        for decision in await session.scalars(decisions.order_by(Decision.effective_on.desc()).limit(LOG_MAX)):
            done, asked = counts.get(decision.id, (0, 0))
            rows.append(LogRow("decision", decision, decision.effective_on, done, asked))
    if filters.open_only:
        rows = [row for row in rows if row.waiting]
    rows.sort(key=lambda row: (row.on, row.item.created_at), reverse=True)
    return rows[:LOG_MAX]


async def waiting_for(session: AsyncSession, account_id: int, person_id: int) -> set[tuple[ItemKind, int]]:
    """The account's items that still wait for this person's acknowledgement: their own open requests.

    What the Log tab marks for its viewer; the items others still owe are theirs to see, not a highlight.
    """
    query = select(Acknowledgement.item_kind, Acknowledgement.item_id).where(
        Acknowledgement.account_id == account_id,
        Acknowledgement.person_id == person_id,
        Acknowledgement.required.is_(True),
        Acknowledgement.acknowledged_at.is_(None),
    )
    return {(ItemKind(kind), int(item_id)) for kind, item_id in (await session.execute(query)).all()}
