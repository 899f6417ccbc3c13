"""The whitespace grid of a key account plan: the customer's divisions or sites against our solutions.

Each cell says where we stand there: sold, in the pipeline, an open opportunity, not relevant, or lost to a
competitor, with its potential and its owner. The grid is part of the plan's content, so it is versioned with
the plan (kam.plans).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kam.results import parse_amount
from kam.text import clean_text, one_line

LINES_MAX = 50


class CellStatus(StrEnum):
    SOLD = "sold"
    PIPELINE = "pipeline"
    OPEN = "open"
    NOT_RELEVANT = "not_relevant"
    LOST = "lost"


class GridLine(BaseModel):
    """A row (a division or site of the customer) or a column (one of our solutions)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9a-f]{32}$")
    name: str = Field(min_length=1, max_length=120)

    @field_validator("name", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> object:
        return one_line(value) if isinstance(value, str) else value


class WhitespaceCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    column_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    status: CellStatus = CellStatus.OPEN
    potential: float | None = Field(default=None, ge=0, le=1e12)  # a year's revenue, in the results' currency
    owner_id: int | None = None
    note: str = Field(default="", max_length=300)

    @field_validator("note", mode="before")
    @classmethod
    def _cleaned(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("potential", mode="before")
    @classmethod
    def _as_typed(cls, value: object) -> object:
        """A potential as people type it, read as every amount is (kam.results.parse_amount: 12.500 is 12500);
        what is no amount stays as it came, for the field's own error."""
        if isinstance(value, str):
            amount = parse_amount(value)
            return value if amount is None else amount
        return value

    @field_validator("potential")
    @classmethod
    def _in_cents(cls, value: float | None) -> float | None:
        """Stored as the tab shows it (two decimals), so that a member's save sends back what is stored."""
        return None if value is None else round(value, 2)

    @property
    def place(self) -> tuple[str, str]:
        return self.row_id, self.column_id


class WhitespaceGrid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[GridLine] = Field(default_factory=list, max_length=LINES_MAX)
    columns: list[GridLine] = Field(default_factory=list, max_length=LINES_MAX)
    cells: list[WhitespaceCell] = Field(default_factory=list, max_length=LINES_MAX * LINES_MAX)


def progress(grid: WhitespaceGrid) -> float | None:
    """The share of relevant cells that are sold or in the pipeline; None when no cell is relevant."""
    return progress_of(c.status for c in grid.cells)


def progress_of(statuses: Iterable[CellStatus]) -> float | None:
    """`progress` of a grid whose cells have these statuses."""
    relevant = [s for s in statuses if s is not CellStatus.NOT_RELEVANT]
    if not relevant:
        return None
    return sum(s in (CellStatus.SOLD, CellStatus.PIPELINE) for s in relevant) / len(relevant)


WON_OR_OPEN = (CellStatus.OPEN, CellStatus.PIPELINE, CellStatus.SOLD)


@dataclass(frozen=True)
class CellChange:
    """One cell whose status changed between two versions of the grid, named by its row and column."""

    row: str
    column: str
    status: CellStatus
    was: CellStatus | None  # None: the cell was not assessed before
    potential: float | None


@dataclass(frozen=True)
class WhitespaceChanges:
    opportunities: tuple[CellChange, ...]  # cells that became open, pipeline or sold
    lost: tuple[CellChange, ...]  # cells that became lost to a competitor


def whitespace_changes(before: WhitespaceGrid, after: WhitespaceGrid) -> WhitespaceChanges:
    """What changed in the grid between two plan versions, in the order of `after`'s rows and columns.

    A cell is matched by its row and column (renamed lines keep their cells); a cell whose row or column is
    gone from `after` is not reported.
    """
    was = {cell.place: cell.status for cell in before.cells}
    rows = {line.id: (n, line.name) for n, line in enumerate(after.rows)}
    columns = {line.id: (n, line.name) for n, line in enumerate(after.columns)}
    changed = sorted(
        (
            (rows[cell.row_id][0], columns[cell.column_id][0], cell)
            for cell in after.cells
            if cell.row_id in rows and cell.column_id in columns and was.get(cell.place) is not cell.status
        ),
        key=lambda found: found[:2],
    )
    changes = [
        CellChange(rows[c.row_id][1], columns[c.column_id][1], c.status, was.get(c.place), c.potential)
        for _, _, c in changed
    ]
    return WhitespaceChanges(
        opportunities=tuple(c for c in changes if c.status in WON_OR_OPEN),
        lost=tuple(c for c in changes if c.status is CellStatus.LOST),
    )


@dataclass(frozen=True)
class Totals:
    """Potential summed by where we stand: open opportunities, sold, lost to a competitor."""

    open: float = 0.0
    sold: float = 0.0
    lost: float = 0.0


def _totals(cells: Iterable[WhitespaceCell]) -> Totals:
    sums = dict.fromkeys((CellStatus.OPEN, CellStatus.SOLD, CellStatus.LOST), 0.0)
    for cell in cells:
        if cell.status in sums:
            sums[cell.status] += cell.potential or 0.0
    return Totals(sums[CellStatus.OPEN], sums[CellStatus.SOLD], sums[CellStatus.LOST])


@dataclass(frozen=True)
class GridTotals:
    rows: dict[str, Totals]
    columns: dict[str, Totals]
    grid: Totals


def totals(grid: WhitespaceGrid) -> GridTotals:
    """The totals of each row, each column and the whole grid (cells outside its rows or columns not counted)."""
    rows = {line.id for line in grid.rows}
    columns = {line.id for line in grid.columns}
    cells = [c for c in grid.cells if c.row_id in rows and c.column_id in columns]
    return GridTotals(
        rows={r: _totals(c for c in cells if c.row_id == r) for r in rows},
        columns={k: _totals(c for c in cells if c.column_id == k) for k in columns},
        grid=_totals(cells),
    )
