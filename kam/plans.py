"""The key account plan: about three years ahead, lean for Key Accounts, full for strategic ones.

Every save is a new version. A save names the version it was based on; if
someone saved in between, it is refused with both versions, never merged or
overwritten silently. The KA manager (and account admins) edit the whole plan;
other members update the objectives and actions they own and add their own, and
the whitespace cells they own (status, potential, note).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import Act, Principal, Subject, is_allowed
from kam.accounts import role_of
from kam.errors import KamError, NotAllowed, Refused
from kam.models import Account, Person, PlanVersion, Role, Tier, utcnow
from kam.storage import insert_if_absent
from kam.text import clean_text, one_line
from kam.whitespace import WhitespaceCell, WhitespaceGrid

LEAN_SECTIONS = ("facts", "potential_targets", "key_stakeholders")
FULL_SECTIONS = (
    *LEAN_SECTIONS,
    "customer_strategy",
    "position_share_of_wallet",
    "market_competitors",
    "opportunities_risks",
    "extra_services",
    "resources",
)
SECTION_MAX = 4000
ITEMS_MAX = 200
HORIZON_YEARS = 3


class ItemStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


class PlanItemKind(StrEnum):
    OBJECTIVE = "objective"
    ACTION = "action"


class PlanItem(BaseModel):
    """An objective or action, with its owner, due date and status."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9a-f]{32}$")
    kind: PlanItemKind = PlanItemKind.ACTION
    title: str = Field(min_length=1, max_length=200)
    owner_id: int | None = None
    due_on: dt.date | None = None
    status: ItemStatus = ItemStatus.OPEN
    progress: int = Field(default=0, ge=0, le=100)
    comment: str = Field(default="", max_length=1000)

    @field_validator("title", "comment", mode="before")
    @classmethod
    def _cleaned(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return one_line(value) if info.field_name == "title" else clean_text(value)


class PlanContent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: dict[str, str] = Field(default_factory=dict)
    items: list[PlanItem] = Field(default_factory=list, max_length=ITEMS_MAX)
    whitespace: WhitespaceGrid = Field(default_factory=WhitespaceGrid)

    @field_validator("sections", mode="before")
    @classmethod
    def _clean_sections(cls, value: object) -> object:
        """Only sections with text are kept: the tab sends every section, an empty one as "", and a plan that
        lacks a section says the same."""
        if isinstance(value, dict):
            cleaned = {key: clean_text(text) if isinstance(text, str) else text for key, text in value.items()}
            return {key: text for key, text in cleaned.items() if text != ""}
        return value


class PlanConflict(KamError):
    """Someone saved the plan since this editor loaded it."""

    code = "plan.conflict"

    def __init__(self, current: PlanVersion) -> None:
        super().__init__(current.version)
        self.current = current


@dataclass(frozen=True)
class PlanProblem:
    """One bad field: `where` it is (e.g. "whitespace.cells.3.potential") and what is wrong, as a catalogue key."""

    where: str
    code: str
    values: Mapping[str, object] = field(default_factory=dict)


# pydantic's error types that have their own words in the catalogue (plan.problem.<type>); others: plan.problem.invalid
WORDED_ERRORS = frozenset(
    {
        "missing",
        "extra_forbidden",
        "string_too_short",
        "string_too_long",
        "too_long",
        "greater_than_equal",
        "less_than_equal",
        "float_parsing",
        "int_parsing",
        "enum",
    }
)


class InvalidPlan(KamError):
    code = "plan.invalid"

    def __init__(self, problems: list[PlanProblem]) -> None:
        super().__init__("; ".join(f"{p.where}: {p.code}" for p in problems))
        self.problems = problems


class NotYourCells(NotAllowed):
    """A member changed a whitespace row, column, owner or a cell someone else owns."""

    code = "plan.whitespace.not_yours"


def sections_for(tier: Tier) -> tuple[str, ...]:
    """The full plan for (corporate) strategic accounts; the lean sales plan for the many."""
    strategic = (Tier.STRATEGIC_KEY_ACCOUNT, Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT)
    return FULL_SECTIONS if tier in strategic else LEAN_SECTIONS


@dataclass(frozen=True)
class Plan:
    version: int
    content: PlanContent
    saved_by: str
    saved_at: dt.datetime | None


def _plan(row: PlanVersion | None) -> Plan:
    if row is None:
        return Plan(0, PlanContent(), "", None)
    return Plan(row.version, PlanContent.model_validate(row.content), row.saved_by.name, row.saved_at)


async def _latest(session: AsyncSession, account_id: int) -> PlanVersion | None:
    query = select(PlanVersion).where(PlanVersion.account_id == account_id)
    return await session.scalar(query.order_by(PlanVersion.version.desc()).limit(1))


async def current_plan(session: AsyncSession, account: Account) -> Plan:
    return _plan(await _latest(session, account.id))


def parse_plan(raw: object, account: Account) -> PlanContent:
    """The submitted plan, or InvalidPlan with one readable problem per bad field."""
    try:
        content = PlanContent.model_validate(raw)
    except ValidationError as error:
        raise InvalidPlan([_problem(e["type"], e["loc"], e.get("ctx") or {}) for e in error.errors()]) from None
    allowed = sections_for(account.tier)
    problems = [
        PlanProblem(f"sections.{name}", "plan.problem.no_section") for name in content.sections if name not in allowed
    ]
    problems += [
        PlanProblem(f"sections.{name}", "plan.problem.string_too_long", {"max_length": SECTION_MAX})
        for name, text in content.sections.items()
        if len(text) > SECTION_MAX
    ]
    team = {m.person_id for m in account.members}
    problems += [
        PlanProblem(f"items.{i}.owner_id", "plan.problem.not_on_team")
        for i, item in enumerate(content.items)
        if item.owner_id is not None and item.owner_id not in team
    ]
    if len({item.id for item in content.items}) != len(content.items):
        problems.append(PlanProblem("items", "plan.problem.same_id"))
    problems += _grid_problems(content.whitespace, team)
    if problems:
        raise InvalidPlan(problems)
    return content


def _problem(kind: str, loc: tuple[int | str, ...], ctx: dict[str, object]) -> PlanProblem:
    values = {k: _plain(v) for k, v in ctx.items() if isinstance(v, int | float | str)}
    code = f"plan.problem.{kind}" if kind in WORDED_ERRORS else "plan.problem.invalid"
    return PlanProblem(".".join(str(part) for part in loc), code, values)


def _plain(value: float | str) -> float | str:
    """0.0 is said as 0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _same_names(lines: list[str], where: str) -> list[PlanProblem]:
    seen: set[str] = set()
    problems = []
    for n, name in enumerate(lines):
        if name.casefold() in seen:
            problems.append(PlanProblem(f"whitespace.{where}.{n}.name", "plan.problem.same_name", {"name": name}))
        seen.add(name.casefold())
    return problems


def _grid_problems(grid: WhitespaceGrid, team: set[int]) -> list[PlanProblem]:
    """Lines named once each (case-insensitive), ids once, cells on existing lines, one cell per place,
    owners on the account team."""
    problems = _same_names([r.name for r in grid.rows], "rows") + _same_names([c.name for c in grid.columns], "columns")
    for where, lines in (("rows", grid.rows), ("columns", grid.columns)):
        if len({line.id for line in lines}) != len(lines):
            problems.append(PlanProblem(f"whitespace.{where}", "plan.problem.same_id"))
    rows, columns = {r.id for r in grid.rows}, {c.id for c in grid.columns}
    places: set[tuple[str, str]] = set()
    for n, cell in enumerate(grid.cells):
        at = f"whitespace.cells.{n}"
        if cell.row_id not in rows:
            problems.append(PlanProblem(f"{at}.row_id", "plan.problem.no_line"))
        if cell.column_id not in columns:
            problems.append(PlanProblem(f"{at}.column_id", "plan.problem.no_line"))
        if cell.place in places:
            problems.append(PlanProblem(at, "plan.problem.same_cell"))
        places.add(cell.place)
        if cell.owner_id is not None and cell.owner_id not in team:
            problems.append(PlanProblem(f"{at}.owner_id", "plan.problem.not_on_team"))
    return problems


def _member_may_save(before: PlanContent, after: PlanContent, person: Person) -> bool:
    """Members change only what they own: their items' status, progress and comment, and their new items."""
    if before.sections != after.sections:
        return False
    old = {item.id: item for item in before.items}
    new = {item.id: item for item in after.items}
    if not old.keys() <= new.keys():
        return False
    for item_id, item in new.items():
        was = old.get(item_id)
        if was is None:
            if item.owner_id != person.id:
                return False
        elif item != was and not _own_update(was, item, person, ITEM_UPDATABLE):
            return False
    return True


def _member_may_change_cells(before: WhitespaceGrid, after: WhitespaceGrid, person: Person) -> bool:
    """Members keep the rows, columns and owners as they are, and change status, potential and note of their
    own cells only."""
    if before.rows != after.rows or before.columns != after.columns:
        return False
    old = {cell.place: cell for cell in before.cells}
    new = {cell.place: cell for cell in after.cells}
    if old.keys() != new.keys():
        return False
    return all(
        new[place] == cell or _own_update(cell, new[place], person, CELL_UPDATABLE) for place, cell in old.items()
    )


# What a member may change of their own items and cells.
ITEM_UPDATABLE = frozenset({"status", "progress", "comment"})
CELL_UPDATABLE = frozenset({"status", "potential", "note"})


def _own_update(
    was: PlanItem | WhitespaceCell, now: PlanItem | WhitespaceCell, person: Person, updatable: frozenset[str]
) -> bool:
    """`was` is the person's, and `now` differs from it in `updatable` only."""
    return was.owner_id == person.id and now.model_dump(exclude=set(updatable)) == was.model_dump(
        exclude=set(updatable)
    )


def may_edit_everything(account: Account, person: Person | None) -> bool:
    """KA managers and account admins edit the whole plan (kam.access, MANAGE); members their own items."""
    return is_allowed(Principal(person), Act.MANAGE, Subject(account=account))


async def save_plan(
    session: AsyncSession, account: Account, person: Person | None, base_version: int, content: PlanContent
) -> Plan:
    """Store `content` as the next version, if nobody saved since `base_version`.

    Raises Refused (not on the team), NotAllowed (a member changing what is not theirs; NotYourCells for the
    whitespace grid), PlanConflict.
    """
    role = role_of(account, person)
    if person is None or role is None:
        raise Refused()
    latest = await _latest(session, account.id)
    current = _plan(latest)
    if base_version != current.version:
        assert latest is not None
        raise PlanConflict(latest)
    if role == Role.MEMBER and not _member_may_change_cells(current.content.whitespace, content.whitespace, person):
        raise NotYourCells()
    if role == Role.MEMBER and not _member_may_save(current.content, content, person):
        raise NotAllowed()
    values = {
        "account_id": account.id,
        "version": current.version + 1,
        "content": content.model_dump(mode="json"),
        "saved_by_id": person.id,
        "saved_at": utcnow(),
    }
    if not await insert_if_absent(session, PlanVersion, values, ["account_id", "version"]):
        # Another save took this version number at the same moment.
        raise PlanConflict(await _latest(session, account.id) or PlanVersion(**values))
    saved = await _latest(session, account.id)
    assert saved is not None and saved.version == values["version"]
    return _plan(saved)


async def plan_versions(session: AsyncSession, account_id: int) -> list[PlanVersion]:
    query = select(PlanVersion).where(PlanVersion.account_id == account_id).order_by(PlanVersion.version.desc())
    return list(await session.scalars(query))
