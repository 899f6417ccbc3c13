"""Plan reviews: the KA manager starts one, each owner updates their objectives and actions, the manager closes it.

Owners are asked through acknowledgements (kam/acknowledgements.py): the card,
the reminder on the due date and the report to the KA manager a day later come
from the same machinery as for decisions. Closing writes the owners' updates into
a new plan version, keeps a snapshot of it with the review, and sums up what
changed, what is late and what needs a decision, and in the whitespace grid the
new opportunities and what was lost since the previous review. A cadence per
tier tells the KA manager when the next review is due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import Act, Principal, Subject, require
from kam.accounts import managers_of
from kam.acknowledgements import MustKnow, acknowledge, ask_to_acknowledge, remind_now, stop_reminders
from kam.errors import KamError
from kam.models import (
    Account,
    ItemKind,
    OutboxMessage,
    Person,
    PlanVersion,
    Review,
    ReviewUpdate,
    Tier,
    aware,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.plans import ItemStatus, PlanContent, PlanItem, current_plan, save_plan
from kam.rules import Rules
from kam.whitespace import CellChange, WhitespaceGrid, whitespace_changes

CADENCE_DAYS = {
    Tier.KEY_ACCOUNT: 182,
    Tier.INTERNATIONAL_KEY_ACCOUNT: 182,
    Tier.STRATEGIC_KEY_ACCOUNT: 91,
    Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT: 91,
}
REPLY_DAYS = 7
COMMENT_MAX = 1000


class ReviewRunning(KamError):
    code = "review.running"


class NothingToReview(KamError):
    """The plan has no objective or action with an owner."""

    code = "review.nothing"


class NotYourItems(KamError):
    code = "review.not_yours"


class ReviewClosed(KamError):
    code = "review.closed_already"


@dataclass(frozen=True)
class ItemUpdate:
    item_id: str
    status: ItemStatus
    progress: int
    comment: str
    needs_decision: bool


def _item(review: Review) -> tuple[ItemKind, int]:
    return ItemKind.REVIEW, review.id


async def open_review(session: AsyncSession, account_id: int) -> Review | None:
    query = select(Review).where(Review.account_id == account_id, Review.closed_at.is_(None))
    return await session.scalar(query.order_by(Review.id.desc()).limit(1))


async def get_review(session: AsyncSession, review_id: int) -> Review | None:
    return await session.get(Review, review_id)


async def closed_by(session: AsyncSession, review: Review) -> Person | None:
    """Who closed the review (None while it runs, or when that person is gone)."""
    return await session.get(Person, review.closed_by_id) if review.closed_by_id is not None else None


def _require_manager(account: Account, person: Person | None) -> Person:
    require(Principal(person), Act.MANAGE, Subject(account=account))
    assert person is not None
    return person


async def start_review(
    session: AsyncSession, rules: Rules, account: Account, person: Person | None, due_on: dt.date
) -> Review:
    """Raises NotAllowed (not the KA manager), ReviewRunning, NothingToReview."""
    manager = _require_manager(account, person)
    if await open_review(session, account.id) is not None:
        raise ReviewRunning()
    plan = await current_plan(session, account)
    owned = [item for item in plan.content.items if item.owner_id is not None]
    if not owned:
        raise NothingToReview()
    review = Review(account_id=account.id, started_by_id=manager.id, due_on=due_on, plan_version=plan.version)
    review.updates = [
        ReviewUpdate(
            item_id=item.id,
            owner_id=item.owner_id,
            title=item.title,
            due_on=item.due_on,
            status=item.status.value,
            progress=item.progress,
            comment=item.comment,
            needs_decision=False,
        )
        for item in owned
    ]
    session.add(review)
    await session.flush()
    team = {m.person_id: m.person for m in account.members}
    owners = [MustKnow(team[i], "review_owner") for i in dict.fromkeys(u.owner_id for u in review.updates) if i in team]
    on_due_date = dt.datetime.combine(due_on, dt.time(), tzinfo=dt.UTC)
    post = OutboxMessage(kind=OutboxKind.REVIEW_STARTED, subject_id=review.id, account_id=account.id)
    await ask_to_acknowledge(
        session,
        account,
        _item(review),
        None,
        owners,
        rules.for_account(account),
        remind_at=on_due_date,
        announce=[post],
    )
    return review


async def update_items(
    session: AsyncSession, account: Account, review: Review, person: Person | None, updates: Sequence[ItemUpdate]
) -> None:
    """An owner reports on their items; once all of theirs are in, their part is done (acknowledged)."""
    if review.closed_at is not None:
        raise ReviewClosed()
    mine = {u.item_id: u for u in review.updates if person is not None and u.owner_id == person.id}
    if person is None or not mine or any(u.item_id not in mine for u in updates):
        raise NotYourItems()
    now = utcnow()
    for update in updates:
        row = mine[update.item_id]
        row.status, row.progress = update.status.value, update.progress
        row.comment, row.needs_decision = update.comment[:COMMENT_MAX], update.needs_decision
        row.updated_at = now
    if all(row.updated_at is not None for row in mine.values()):
        await acknowledge(session, account, _item(review), person)


async def remind_owners(session: AsyncSession, account: Account, review: Review, person: Person | None) -> list[str]:
    _require_manager(account, person)
    if review.closed_at is not None:
        raise ReviewClosed()
    return await remind_now(session, account.id, _item(review))


def _summary(review: Review, before: dict[str, PlanItem], today: dt.date) -> dict[str, list[dict[str, object]]]:
    changed, late, decisions, silent = [], [], [], []
    for row in review.updates:
        entry = {
            "title": row.title,
            "owner": row.owner.name,
            "status": row.status,
            "progress": row.progress,
            "comment": row.comment,
        }
        was = before.get(row.item_id)
        if row.updated_at is None:
            silent.append(entry)
        elif was is None or (was.status.value, was.progress, was.comment) != (row.status, row.progress, row.comment):
            changed.append(
                entry | {"was_status": was.status.value if was else "", "was_progress": was.progress if was else 0}
            )
        if row.due_on and row.due_on < today and row.status != ItemStatus.DONE.value:
            late.append(entry | {"due_on": row.due_on.isoformat()})
        if row.needs_decision or row.status == ItemStatus.BLOCKED.value:
            decisions.append(entry)
    return {"changed": changed, "late": late, "decisions": decisions, "silent": silent}


async def _grid_before(session: AsyncSession, review: Review) -> WhitespaceGrid:
    """The grid as the plan version of the previous closed review had it; before the first review, the first
    plan version's."""
    previous = await session.scalar(
        select(Review)
        .where(Review.account_id == review.account_id, Review.closed_at.is_not(None), Review.id != review.id)
        .order_by(Review.closed_at.desc(), Review.id.desc())
        .limit(1)
    )
    version = previous.plan_version if previous is not None and previous.plan_version else 1
    query = select(PlanVersion.content).where(PlanVersion.account_id == review.account_id)
    content = await session.scalar(query.where(PlanVersion.version == version))
    return PlanContent.model_validate(content).whitespace if content is not None else WhitespaceGrid()


def _cell_entries(changes: tuple[CellChange, ...]) -> list[dict[str, object]]:
    return [
        {
            "row": c.row,
            "column": c.column,
            "status": c.status.value,
            "was": c.was.value if c.was else None,
            "potential": c.potential,
        }
        for c in changes
    ]


async def close_review(session: AsyncSession, account: Account, review: Review, person: Person | None) -> Review:
    """The owners' updates become the next plan version; the review keeps it and a summary."""
    manager = _require_manager(account, person)
    if review.closed_at is not None:
        raise ReviewClosed()
    plan = await current_plan(session, account)
    reported = {u.item_id: u for u in review.updates if u.updated_at is not None}
    items = [
        item.model_copy(
            update={
                "status": ItemStatus(reported[item.id].status),
                "progress": reported[item.id].progress,
                "comment": reported[item.id].comment,
            }
        )
        if item.id in reported
        else item
        for item in plan.content.items
    ]
    saved = await save_plan(session, account, manager, plan.version, plan.content.model_copy(update={"items": items}))
    review.closed_at = utcnow()
    review.closed_by_id = manager.id
    review.plan_version = saved.version
    review.snapshot = saved.content.model_dump(mode="json")
    grid = whitespace_changes(await _grid_before(session, review), saved.content.whitespace)
    review.summary = _summary(review, {i.id: i for i in plan.content.items}, dt.date.today()) | {
        "opportunities": _cell_entries(grid.opportunities),
        "lost": _cell_entries(grid.lost),
    }
    await stop_reminders(session, account.id, _item(review))
    session.add(OutboxMessage(kind=OutboxKind.REVIEW_CLOSED, subject_id=review.id, account_id=account.id))
    return review


async def reviews_of(session: AsyncSession, account_id: int) -> list[Review]:
    query = select(Review).where(Review.account_id == account_id).order_by(Review.started_at.desc())
    return list(await session.scalars(query))


async def schedule_reviews_due(session: AsyncSession, today: dt.date | None = None) -> int:
    """Tell each KA manager once when their account's next review is due by its tier's cadence."""
    today = today or dt.date.today()
    last = select(Review.account_id, func.max(Review.started_at).label("last")).group_by(Review.account_id).subquery()
    rows = await session.execute(
        select(Account, last.c.last)
        .outerjoin(last, last.c.account_id == Account.id)
        .where(Account.active.is_(True))
        .with_for_update(skip_locked=True, of=Account)
    )
    queued = 0
    for account, last_started in rows.all():
        since = aware(last_started or account.created_at)
        due = since.date() + dt.timedelta(days=CADENCE_DAYS[account.tier])
        notified = account.review_due_notified_at
        already = notified is not None and aware(notified) >= since
        if due > today or already:
            continue
        account.review_due_notified_at = utcnow()
        for manager in managers_of(account):
            session.add(
                OutboxMessage(
                    kind=OutboxKind.REVIEW_DUE,
                    subject_id=manager.id,
                    account_id=account.id,
                    detail={"last": last_started.date().isoformat() if last_started else None},
                )
            )
            queued += 1
    return queued
