"""The whitespace grid of a key account plan: the customer's divisions or sites against our solutions.

Each cell says where we stand there: sold, in the pipeline, an open opportunity, not relevant, or lost to a
competitor, with its potential and its owner. The grid is part of the plan's content, so it is versioned with
the plan (kam.plans).
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

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


class WhitespaceCell(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    column_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    status: CellStatus = CellStatus.OPEN
    potential: float | None = Field(default=None, ge=0, le=1e12)  # a year's revenue, in the results' currency
    owner_id: int | None = None
    note: str = Field(default="", max_length=300)


class WhitespaceGrid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[GridLine] = Field(default_factory=list, max_length=LINES_MAX)
    columns: list[GridLine] = Field(default_factory=list, max_length=LINES_MAX)
    cells: list[WhitespaceCell] = Field(default_factory=list, max_length=LINES_MAX * LINES_MAX)


def progress(grid: WhitespaceGrid) -> float | None:
    """The share of relevant cells that are sold or in the pipeline; None when no cell is relevant."""
    relevant = [c for c in grid.cells if c.status is not CellStatus.NOT_RELEVANT]
    if not relevant:
        return None
    return sum(c.status in (CellStatus.SOLD, CellStatus.PIPELINE) for c in relevant) / len(relevant)
