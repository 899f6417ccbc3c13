"""The monthly KPI card: each KA manager hears how their accounts are doing, the head of KAM how the portfolio is,
once a month (KpiCardSent), with a link to the page where the whole is.

Queued by the sweep on its first run in a month; what the card shows is read when it is sent
(bot/outbox/render.py), through the access policy, so that a manager who left an account meanwhile
does not hear of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, AccountMember, KpiCardSent, OutboxMessage, Person, ResultFigures, Role
from kam.outbox import OutboxKind


def month_of(day: dt.date) -> str:
    return day.strftime("%Y-%m")


async def schedule_kpi_cards(session: AsyncSession, heads: Sequence[str], today: dt.date) -> int:
    """Queue this month's card for every head of KAM and every KA manager of an active account who has not had it.

    Their rows are locked first: of several instances, one queues the cards, the others find them sent.
    """
    managers = (
        select(AccountMember.person_id)
        .join(Account, Account.id == AccountMember.account_id)
        .where(AccountMember.role == Role.MANAGER, Account.active.is_(True))
    )
    wanted: ColumnElement[bool] = Person.id.in_(managers)
    if heads:
        wanted = wanted | Person.aad_object_id.in_(list(heads))
    people = list(await session.scalars(select(Person).where(wanted).order_by(Person.id).with_for_update()))
    if not people:
        return 0
    month = month_of(today)
    sent = set(
        await session.scalars(
            select(KpiCardSent.person_id).where(
                KpiCardSent.month == month, KpiCardSent.person_id.in_([p.id for p in people])
            )
        )
    )
    queued = 0
    for person in people:
        if person.id in sent:
            continue
        session.add(KpiCardSent(person_id=person.id, month=month))
        session.add(OutboxMessage(kind=OutboxKind.KPI_MONTHLY, subject_id=person.id, detail={"month": month}))
        queued += 1
    return queued


async def results_year(session: AsyncSession, today: dt.date) -> int:
    """The newest year with results figures up to this one (the dependency risk's), else this year."""
    year = await session.scalar(select(func.max(ResultFigures.year)).where(ResultFigures.year <= today.year))
    return int(year) if year is not None else today.year
