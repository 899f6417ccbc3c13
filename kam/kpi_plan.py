"""The plan's figures: objectives and actions done and late, reviews held in the tier's cadence, the revenue
target the plan states, and the conflicts the three checks caught (read as they are now)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kam.checks import CONFLICT_KINDS
from kam.kpi_windows import share
from kam.models import (
    Flag,
    PlanVersion,
    Review,
    Tier,
    aware,
)
from kam.plans import ItemStatus, PlanItemKind
from kam.results import parse_amount
from kam.reviews import CADENCE_DAYS
from kam.whitespace import CellStatus, progress_of

YEAR_DAYS = 365

TARGET = re.compile(
    r"(?:revenue\s+target|target\s+revenue|umsatzziel|ziel\s*umsatz)(?:\s*(?:for|für|in)?\s*20\d\d\b)?"
    r"\D{0,20}?(\d[\d.,' ]*\d|\d)\s*(k|m|mio|tsd)?\b",
    re.IGNORECASE,
)
MULTIPLIERS = {"k": 1e3, "tsd": 1e3, "m": 1e6, "mio": 1e6}


def revenue_target(sections: dict[str, Any]) -> float | None:
    """The revenue target the plan's "potential and targets" states ("Revenue target: 1.2 m", "Umsatzziel
    1.200.000"), or None when it names none."""
    text = sections.get("potential_targets")
    if not isinstance(text, str):
        return None
    found = TARGET.search(text)
    if found is None:
        return None
    amount = parse_amount(found.group(1))
    if amount is None:
        return None
    return amount * MULTIPLIERS.get((found.group(2) or "").lower(), 1.0)


def plan_counts(content: dict[str, Any], today: dt.date) -> dict[str, int]:
    counts = dict.fromkeys(
        ("objectives", "objectives_done", "objectives_late", "actions", "actions_done", "actions_late"), 0
    )
    for item in content.get("items") or []:
        prefix = "objectives" if item.get("kind") == PlanItemKind.OBJECTIVE else "actions"
        counts[prefix] += 1
        done = item.get("status") == ItemStatus.DONE
        due = item.get("due_on")
        if done:
            counts[f"{prefix}_done"] += 1
        elif due and dt.date.fromisoformat(str(due)) < today:
            counts[f"{prefix}_late"] += 1
    return counts


def whitespace_progress(content: Mapping[str, Any]) -> float | None:
    """kam.whitespace.progress of the plan's grid; None without a grid (or with one that is not valid).

    Only the cells' statuses are checked (the plan was validated when it was saved): a score for every account
    of a large portfolio must not parse every note and name again."""
    raw = content.get("whitespace")
    if not raw:
        return None
    try:
        statuses = [CellStatus(cell["status"]) for cell in raw.get("cells", [])]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return progress_of(statuses)


def reviews_on_time(tier: Tier, created: dt.date, closed: Iterable[dt.date], today: dt.date) -> float | None:
    """Share of the tier's review periods of the last 12 months (counted back from today, today included: reviews
    are read as they are now) with a review closed in them; only periods that began once the account existed
    count."""
    every = CADENCE_DAYS[tier]
    held = sorted(closed)
    periods = 0
    kept = 0
    for index in range(YEAR_DAYS // every):
        end = today + dt.timedelta(days=1 - every * index)
        start = end - dt.timedelta(days=every)
        if start < created:
            break
        periods += 1
        kept += any(start <= day < end for day in held)
    return share(kept, periods)


async def newest_plans(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    newest = (
        select(PlanVersion.account_id, func.max(PlanVersion.version).label("version"))
        .where(PlanVersion.account_id.in_(ids))
        .group_by(PlanVersion.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(PlanVersion.account_id, PlanVersion.content).join(
            newest, and_(newest.c.account_id == PlanVersion.account_id, newest.c.version == PlanVersion.version)
        )
    )
    return {account_id: content or {} for account_id, content in rows.all()}


async def reviews_closed(session: AsyncSession, ids: list[int], since: dt.datetime) -> dict[int, list[dt.date]]:
    rows = await session.execute(
        select(Review.account_id, Review.closed_at).where(
            Review.account_id.in_(ids), Review.closed_at.is_not(None), Review.closed_at >= since
        )
    )
    closed: dict[int, list[dt.date]] = defaultdict(list)
    for account_id, closed_at in rows.all():
        if closed_at is not None:
            closed[account_id].append(aware(closed_at).date())
    return closed


@dataclass(frozen=True)
class Conflicts:
    caught: int
    dismissed: int
    days_open_median: float | None
    still_open: int = 0  # neither dismissed nor ended yet (the health score counts them)


async def conflicts_of(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, Conflicts]:
    """Conflicts flagged in the window; one is closed when marked "not a conflict", or (two framework agreements)
    when the earlier agreement ended."""
    earlier = aliased(Flag)
    rows = await session.execute(
        select(Flag.account_id, Flag.kind, Flag.created_at, Flag.closed_at, Flag.dismissed_at, earlier.closed_at)
        .outerjoin(earlier, earlier.id == Flag.related_id)
        .where(
            Flag.account_id.in_(ids),
            Flag.kind.in_(CONFLICT_KINDS),
            Flag.created_at >= since,
            Flag.created_at < until,
        )
    )
    caught: dict[int, int] = defaultdict(int)
    dismissed: dict[int, int] = defaultdict(int)
    days_open: dict[int, list[float]] = defaultdict(list)
    still_open: dict[int, int] = defaultdict(int)
    for account_id, kind, created_at, closed_at, dismissed_at, agreement_ended in rows.all():
        caught[account_id] += 1
        dismissed[account_id] += dismissed_at is not None
        ends = [closed_at, dismissed_at, agreement_ended if kind == "parallel_framework" else None]
        moments = [aware(moment) for moment in ends if moment is not None]
        if moments:
            days_open[account_id].append(max((min(moments) - aware(created_at)).total_seconds(), 0.0) / 86400.0)
        else:
            still_open[account_id] += 1
    return {
        account_id: Conflicts(
            caught[account_id],
            dismissed[account_id],
            round(median(days_open[account_id]), 2) if days_open[account_id] else None,
            still_open[account_id],
        )
        for account_id in caught
    }
