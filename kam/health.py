"""An account's health score, 0 to 100, and why it is what it is (docs/kpis.md, "Health score").

The score is built from parts, each a value from 0 to 1 with a weight the admins set (kam.selection, `health:`):
coverage of the decision makers, freshness of contact with the key players, plan progress, acknowledgements
within 24 h, open conflicts, reviews on time and whitespace progress. Nothing is computed twice: the figures
come from kam.kpis, the coverage from kam.relationships, the whitespace from the plan in force. A part without
data (no acknowledgement asked, no whitespace grid yet) is not counted: its weight is shared out among the
others, so a new account is not punished for what it cannot have yet. Each part says how many points it gives
and how many it costs, so the score explains itself.

Once a day each active account's score is stored (AccountHealth): the trend, and what a drop is measured against.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import KpiScope
from kam.kpis import AccountKpis, KpiCache, kpis_for
from kam.models import Account, AccountHealth, AccountMember, OutboxMessage, Role, utcnow
from kam.outbox import OutboxKind
from kam.relationships import CoverageFacts, GapKind, coverage_facts
from kam.storage import insert_id_if_absent

CONFLICT_COST = 0.25  # what each open conflict takes off its part's value
TREND_DAYS = 90


class Part(StrEnum):
    COVERAGE = "coverage"
    FRESHNESS = "freshness"
    PLAN = "plan"
    ACKNOWLEDGEMENTS = "acknowledgements"
    CONFLICTS = "conflicts"
    REVIEW = "review"
    WHITESPACE = "whitespace"


DEFAULT_WEIGHTS: Mapping[Part, float] = {
    Part.COVERAGE: 20,
    Part.FRESHNESS: 20,
    Part.PLAN: 15,
    Part.ACKNOWLEDGEMENTS: 15,
    Part.CONFLICTS: 10,
    Part.REVIEW: 10,
    Part.WHITESPACE: 10,
}


@dataclass(frozen=True)
class HealthSettings:
    """The admins' choice (kam.selection, `health:`): the weight of each part, how many points below the score of
    `compare_days` earlier tell the KA managers, and that earlier day."""

    weights: Mapping[Part, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    drop_alert: float = 10.0
    compare_days: int = 7


class Note(StrEnum):
    """Why a part has the value it has, where the value alone would mislead."""

    NO_DECISION_MAKERS = "no_decision_makers"  # coverage 0: nobody on the map decides


@dataclass(frozen=True)
class PartScore:
    part: Part
    weight: float
    value: float | None  # 0-1; None: not counted (no data), its weight shared out among the others
    points: float = 0.0  # what it gives to the score
    cost: float = 0.0  # what it would give more at a value of 1
    note: Note | None = None

    @property
    def counted(self) -> bool:
        return self.value is not None and self.weight > 0


@dataclass(frozen=True)
class Health:
    account_id: int
    score: int | None  # None when no part with a weight has data
    parts: tuple[PartScore, ...]
    gaps: tuple[GapKind, ...] = ()  # the kinds of coverage gaps, without whom they are about

    def costliest(self, count: int = 2) -> list[PartScore]:
        """The counted parts that cost the most points, most first (none that cost nothing)."""
        losing = [p for p in self.parts if p.counted and p.cost > 0]
        return sorted(losing, key=lambda p: (-p.cost, list(Part).index(p.part)))[:count]

    def as_json(self) -> dict[str, Any]:
        """The parts as AccountHealth stores them."""
        return {
            p.part.value: {"weight": p.weight, "value": p.value, "points": p.points, "note": p.note} for p in self.parts
        }


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def score_parts(values: Mapping[Part, tuple[float | None, Note | None]], weights: Mapping[Part, float]) -> Health:
    """The score of one account from its parts' values: round(100 × Σ weight·value ÷ Σ weight of counted parts),
    half up. The account id is left 0 (health_for fills it in)."""
    counted = sum(w for p, w in weights.items() if w > 0 and values.get(p, (None, None))[0] is not None)
    parts = []
    for part in Part:
        weight = float(weights.get(part, 0))
        value, note = values.get(part, (None, None))
        if value is None or weight <= 0 or counted <= 0:
            parts.append(PartScore(part, weight, value if weight > 0 else None, note=note))
            continue
        share = 100 * weight / counted
        parts.append(PartScore(part, weight, value, round(share * value, 2), round(share * (1 - value), 2), note))
    total = sum(100 * p.weight * (p.value or 0) for p in parts if p.counted)
    score = round_half_up(total / counted) if counted > 0 else None
    return Health(0, score, tuple(parts))


def _coverage(facts: CoverageFacts | None) -> tuple[float | None, Note | None]:
    if facts is None or facts.decision_makers == 0:
        return 0.0, Note.NO_DECISION_MAKERS
    return facts.decision_makers_met / facts.decision_makers, None


def _plan_progress(kpis: AccountKpis) -> float | None:
    """Of the objectives and actions that are done or due by now, the share done; None when none is."""
    plan = kpis.plan
    if plan is None:
        return None
    done = plan.objectives_done + plan.actions_done
    due = done + plan.objectives_late + plan.actions_late
    return done / due if due else None


def _conflicts(kpis: AccountKpis) -> float | None:
    if kpis.plan is None:
        return None
    return max(0.0, 1 - CONFLICT_COST * kpis.plan.conflicts_open)


def part_values(kpis: AccountKpis, facts: CoverageFacts | None) -> dict[Part, tuple[float | None, Note | None]]:
    reviews = kpis.plan.reviews_on_time if kpis.plan else None
    whitespace = kpis.plan.whitespace if kpis.plan else None
    return {
        Part.COVERAGE: _coverage(facts),
        Part.FRESHNESS: (facts.key_player_freshness if facts else None, None),
        Part.PLAN: (_plan_progress(kpis), None),
        Part.ACKNOWLEDGEMENTS: (kpis.flow.acknowledged_within_24h, None),
        Part.CONFLICTS: (_conflicts(kpis), None),
        Part.REVIEW: (reviews, None),
        Part.WHITESPACE: (whitespace, None),
    }


async def health_from_kpis(
    session: AsyncSession,
    kpis: Mapping[int, AccountKpis],
    today: dt.date,
    settings: HealthSettings | None = None,
) -> dict[int, Health]:
    """The health of the accounts whose (unnarrowed) figures are `kpis`: the coverage, which the figures do not
    hold, read for all at once (a fixed number of statements)."""
    settings = settings or HealthSettings()
    ids = sorted(kpis)
    if not ids:
        return {}
    facts = await coverage_facts(session, ids, today)
    healths = {}
    for account_id in ids:
        account_facts = facts.get(account_id)
        health = score_parts(part_values(kpis[account_id], account_facts), settings.weights)
        gaps = tuple(dict.fromkeys(g.kind for g in account_facts.gaps)) if account_facts else ()
        healths[account_id] = replace(health, account_id=account_id, gaps=gaps)
    return healths


async def health_for(
    session: AsyncSession,
    account_ids: Sequence[int],
    today: dt.date,
    settings: HealthSettings | None = None,
    cache: KpiCache | None = None,
) -> dict[int, Health]:
    """The health of each account of `account_ids` that exists, in a fixed number of statements whatever their
    number (kam.kpis.kpis_for's and the coverage's)."""
    return await health_from_kpis(session, await kpis_for(session, account_ids, today, cache), today, settings)


def recorded_health(account_id: int, score: int, parts: Mapping[str, Any]) -> Health:
    """A day's stored health (AccountHealth) as the page shows it: the stored score, the parts with their weight
    and value then (the gaps are not stored)."""
    values = {part: (_value(parts, part), _note(parts, part)) for part in Part}
    weights = {part: float((parts.get(part.value) or {}).get("weight") or 0) for part in Part}
    return replace(score_parts(values, weights), account_id=account_id, score=score)


async def todays_health(
    session: AsyncSession,
    kpis: Mapping[int, AccountKpis],
    today: dt.date,
    settings: HealthSettings | None = None,
) -> dict[int, Health]:
    """The health of the accounts whose (unnarrowed) figures are `kpis` for a page of many accounts: the score
    `record_health` stored today where there is one (the sweep stores it once a day, the bot at start-up), else
    computed as `health_from_kpis` does. A fixed number of statements whatever the number of accounts."""
    ids = sorted(kpis)
    if not ids:
        return {}
    stored = {
        account_id: recorded_health(account_id, score, parts)
        for account_id, score, parts in await session.execute(
            select(AccountHealth.account_id, AccountHealth.score, AccountHealth.parts).where(
                AccountHealth.account_id.in_(ids), AccountHealth.on_date == today
            )
        )
    }
    missing = {account_id: kpis[account_id] for account_id in ids if account_id not in stored}
    return stored | await health_from_kpis(session, missing, today, settings)


def visible_health(health: Health, scope: KpiScope) -> Health:
    """What someone with `scope` (kam.access.kpi_scope) may see of it: the KA managers and the head of KAM all,
    the team the score alone (the parts are figures they do not see, the gaps the map's)."""
    return health if scope == KpiScope.ALL else replace(health, parts=(), gaps=())


# -- the daily record and the drop ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FallenPart:
    part: Part
    before: float | None  # the part's value (0-1) then; None: not counted then
    now: float | None


@dataclass(frozen=True)
class Drop:
    before: int
    now: int
    fallen: tuple[FallenPart, ...]  # the parts that gave fewer points, the biggest loss first


def _points(parts: Mapping[str, Any], part: Part) -> float:
    entry = parts.get(part.value) or {}
    return float(entry.get("points") or 0)


def _value(parts: Mapping[str, Any], part: Part) -> float | None:
    value = (parts.get(part.value) or {}).get("value")
    return None if value is None else float(value)


def _note(parts: Mapping[str, Any], part: Part) -> Note | None:
    note = (parts.get(part.value) or {}).get("note")
    return Note(note) if note in {n.value for n in Note} else None


def drop_between(
    before_score: int, before_parts: Mapping[str, Any], now_score: int, now_parts: Mapping[str, Any], alert: float
) -> Drop | None:
    """A drop of more than `alert` points, with the parts that fell; None when the score fell less (or rose)."""
    if before_score - now_score <= alert:
        return None
    losses = [(_points(before_parts, p) - _points(now_parts, p), p) for p in Part]
    fallen = [
        FallenPart(part, _value(before_parts, part), _value(now_parts, part))
        for loss, part in sorted(losses, key=lambda pair: (-pair[0], list(Part).index(pair[1])))
        if loss > 0
    ]
    return Drop(before_score, now_score, tuple(fallen))


async def _managers(session: AsyncSession, ids: list[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(AccountMember.account_id, AccountMember.person_id).where(
            AccountMember.account_id.in_(ids), AccountMember.role == Role.MANAGER
        )
    )
    managers: dict[int, list[int]] = {}
    for account_id, person_id in rows.all():
        managers.setdefault(account_id, []).append(person_id)
    return managers


async def record_health(
    session: AsyncSession, today: dt.date, settings: HealthSettings | None = None, cache: KpiCache | None = None
) -> int:
    """Store today's score of each active account that has none yet, and tell the KA managers of an account whose
    score fell more than `drop_alert` points below that of `compare_days` earlier: how many were told.

    Several instances may run it at once: the row of a day is inserted if absent, and only the instance that
    inserted it queues the drop card, so it is sent once. Cheap once the day is done (one statement)."""
    settings = settings or HealthSettings()
    recorded = select(AccountHealth.account_id).where(AccountHealth.on_date == today)
    ids = list(
        await session.scalars(
            select(Account.id).where(Account.active.is_(True), Account.id.not_in(recorded)).order_by(Account.id)
        )
    )
    if not ids:
        return 0
    healths = await health_for(session, ids, today, settings, cache)
    earlier_day = today - dt.timedelta(days=settings.compare_days)
    earlier = {
        row.account_id: row
        for row in await session.scalars(
            select(AccountHealth).where(AccountHealth.account_id.in_(ids), AccountHealth.on_date == earlier_day)
        )
    }
    managers = await _managers(session, ids)
    told = 0
    for account_id, health in healths.items():
        if health.score is None:
            continue
        parts = health.as_json()
        values = {"account_id": account_id, "on_date": today, "score": health.score, "parts": parts}
        row_id = await insert_id_if_absent(session, AccountHealth, values, ["account_id", "on_date"])
        before = earlier.get(account_id)
        if row_id is None or before is None:
            continue
        if drop_between(before.score, before.parts, health.score, parts, settings.drop_alert) is None:
            continue
        row = await session.get(AccountHealth, row_id)
        if row is None or not managers.get(account_id):
            continue
        row.drop_told_at = utcnow()
        for person_id in managers[account_id]:
            detail = {"on": today.isoformat(), "before": earlier_day.isoformat()}
            session.add(
                OutboxMessage(kind=OutboxKind.HEALTH_DROP, subject_id=person_id, account_id=account_id, detail=detail)
            )
            told += 1
    return told


async def health_trend(
    session: AsyncSession, account_id: int, today: dt.date, days: int = TREND_DAYS
) -> list[tuple[dt.date, int]]:
    """(day, score) of the account's stored scores of the last `days` days, oldest first."""
    rows = await session.execute(
        select(AccountHealth.on_date, AccountHealth.score)
        .where(AccountHealth.account_id == account_id, AccountHealth.on_date > today - dt.timedelta(days=days))
        .order_by(AccountHealth.on_date)
    )
    return [(day, score) for day, score in rows.all()]


async def stored_drop(session: AsyncSession, account_id: int, on: dt.date, before: dt.date) -> Drop | None:
    """The drop between two stored days as the card tells it (both rows read when it is sent)."""
    rows = {
        row.on_date: row
        for row in await session.scalars(
            select(AccountHealth).where(AccountHealth.account_id == account_id, AccountHealth.on_date.in_([on, before]))
        )
    }
    if on not in rows or before not in rows:
        return None
    then, now = rows[before], rows[on]
    return drop_between(then.score, then.parts, now.score, now.parts, -math.inf) if then.score > now.score else None
