"""The whitespace grid: its validation as part of the plan, what changed between two versions, its totals.

Every expectation is worked out by hand from the small grids below.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards.i18n import Texts
from cards.review import SUMMARY_SHOWN, review_summary_card
from kam.models import Account, AccountMember, Role, Tier
from kam.plans import InvalidPlan, PlanProblem, parse_plan
from kam.whitespace import (
    CellChange,
    CellStatus,
    GridLine,
    Totals,
    WhitespaceCell,
    WhitespaceGrid,
    progress,
    totals,
    whitespace_changes,
)

SAXONY, BAVARIA, POLAND = "1" * 32, "2" * 32, "3" * 32  # rows: the customer's sites
PACKAGING, SERVICE = "a" * 32, "b" * 32  # columns: our solutions
MEGAN, ADELE, STRANGER = 1, 2, 99


def account() -> Account:
    members = [AccountMember(person_id=MEGAN, role=Role.MANAGER), AccountMember(person_id=ADELE, role=Role.MEMBER)]
    return Account(id=1, name="Contoso", tier=Tier.KEY_ACCOUNT, members=members)


def grid(*cells: WhitespaceCell, rows: tuple[str, ...] = (SAXONY, BAVARIA)) -> WhitespaceGrid:
    names = {SAXONY: "Plant Saxony", BAVARIA: "Plant Bavaria", POLAND: "Plant Poland"}
    return WhitespaceGrid(
        rows=[GridLine(id=r, name=names[r]) for r in rows],
        columns=[GridLine(id=PACKAGING, name="Sterile packaging"), GridLine(id=SERVICE, name="Service contract")],
        cells=list(cells),
    )


def cell(row: str, column: str, status: CellStatus, potential: float | None = None, **more: Any) -> WhitespaceCell:
    return WhitespaceCell(row_id=row, column_id=column, status=status, potential=potential, **more)


def problems_of(whitespace: dict[str, Any]) -> list[PlanProblem]:
    with pytest.raises(InvalidPlan) as refused:
        parse_plan({"sections": {}, "items": [], "whitespace": whitespace}, account())
    return refused.value.problems


def test_a_plan_without_a_grid_has_an_empty_one_and_a_good_grid_is_kept_as_sent() -> None:
    assert parse_plan({"sections": {}, "items": []}, account()).whitespace == WhitespaceGrid()
    sent = grid(cell(SAXONY, PACKAGING, CellStatus.SOLD, 120_000, owner_id=ADELE, note="  Framework 2026 \u200b"))
    parsed = parse_plan({"whitespace": sent.model_dump(mode="json")}, account()).whitespace
    assert parsed.cells[0].note == "Framework 2026", "notes are cleaned like every plan text"
    assert parsed.model_dump(exclude={"cells"}) == sent.model_dump(exclude={"cells"})


def test_each_bad_field_is_named() -> None:
    twice = grid().model_dump(mode="json")
    twice["rows"].append({"id": POLAND, "name": "plant SAXONY"})  # the same name, another case
    twice["cells"] = [
        {"row_id": SAXONY, "column_id": PACKAGING, "status": "open"},
        {"row_id": SAXONY, "column_id": PACKAGING, "status": "sold"},  # a second cell for one place
        {"row_id": "4" * 32, "column_id": SERVICE, "status": "open"},  # a row that is not in the grid
        {"row_id": BAVARIA, "column_id": SERVICE, "status": "open", "owner_id": STRANGER},
    ]
    found = {(p.where, p.code) for p in problems_of(twice)}
    assert found == {
        ("whitespace.rows.2.name", "plan.problem.same_name"),
        ("whitespace.cells.1", "plan.problem.same_cell"),
        ("whitespace.cells.2.row_id", "plan.problem.no_line"),
        ("whitespace.cells.3.owner_id", "plan.problem.not_on_team"),
    }


def test_a_column_named_twice_and_a_line_id_twice_are_named_too() -> None:
    bad = grid().model_dump(mode="json")
    bad["columns"][1]["name"] = " Sterile  Packaging "
    bad["rows"][1]["id"] = SAXONY
    found = {(p.where, p.code, tuple(p.values.items())) for p in problems_of(bad)}
    assert found == {
        ("whitespace.columns.1.name", "plan.problem.same_name", (("name", "Sterile Packaging"),)),
        ("whitespace.rows", "plan.problem.same_id", ()),
    }


@pytest.mark.parametrize(
    ("cell_sent", "where", "code", "values"),
    [
        ({"potential": -1}, "whitespace.cells.0.potential", "plan.problem.greater_than_equal", {"ge": 0}),
        ({"potential": "lots"}, "whitespace.cells.0.potential", "plan.problem.float_parsing", {}),
        ({"status": "maybe"}, "whitespace.cells.0.status", "plan.problem.enum", None),
        ({"note": "n" * 301}, "whitespace.cells.0.note", "plan.problem.string_too_long", {"max_length": 300}),
        ({"colour": "red"}, "whitespace.cells.0.colour", "plan.problem.extra_forbidden", {}),
    ],
)
def test_a_bad_value_in_a_cell_is_named_with_its_catalogue_words(
    cell_sent: dict[str, Any], where: str, code: str, values: dict[str, Any] | None
) -> None:
    bad = grid().model_dump(mode="json")
    bad["cells"] = [{"row_id": SAXONY, "column_id": PACKAGING, "status": "open"} | cell_sent]
    (problem,) = problems_of(bad)
    assert (problem.where, problem.code) == (where, code)
    if values is not None:
        assert dict(problem.values) == values


def test_an_empty_line_name_and_too_many_lines_are_named() -> None:
    bad = grid().model_dump(mode="json")
    bad["rows"][0]["name"] = "   "
    bad["columns"] = [{"id": f"{n:032x}", "name": f"Solution {n}"} for n in range(51)]
    found = {(p.where, p.code) for p in problems_of(bad)}
    assert found == {
        ("whitespace.rows.0.name", "plan.problem.string_too_short"),
        ("whitespace.columns", "plan.problem.too_long"),
    }


def test_changes_list_new_opportunities_and_lost_cells_by_place_in_the_grids_order() -> None:
    before = grid(
        cell(SAXONY, PACKAGING, CellStatus.OPEN, 100),  # -> sold: became sold
        cell(SAXONY, SERVICE, CellStatus.NOT_RELEVANT),  # -> open: a new opportunity
        cell(BAVARIA, PACKAGING, CellStatus.PIPELINE, 50),  # -> lost
        cell(BAVARIA, SERVICE, CellStatus.OPEN, 30),  # unchanged status (potential changed): not listed
    )
    after = grid(
        cell(BAVARIA, SERVICE, CellStatus.OPEN, 35),
        cell(BAVARIA, PACKAGING, CellStatus.LOST, 50),
        cell(SAXONY, SERVICE, CellStatus.OPEN, 80),
        cell(SAXONY, PACKAGING, CellStatus.SOLD, 100),
        cell(POLAND, PACKAGING, CellStatus.PIPELINE, 10),  # a new row's first cell: new
        rows=(SAXONY, BAVARIA, POLAND),
    )
    changes = whitespace_changes(before, after)
    assert changes.opportunities == (
        CellChange("Plant Saxony", "Sterile packaging", CellStatus.SOLD, CellStatus.OPEN, 100),
        CellChange("Plant Saxony", "Service contract", CellStatus.OPEN, CellStatus.NOT_RELEVANT, 80),
        CellChange("Plant Poland", "Sterile packaging", CellStatus.PIPELINE, None, 10),
    )
    assert changes.lost == (CellChange("Plant Bavaria", "Sterile packaging", CellStatus.LOST, CellStatus.PIPELINE, 50),)


def test_a_renamed_line_keeps_its_cells_and_a_removed_one_reports_nothing() -> None:
    before = grid(cell(SAXONY, PACKAGING, CellStatus.OPEN), cell(BAVARIA, PACKAGING, CellStatus.OPEN))
    renamed = grid(cell(SAXONY, PACKAGING, CellStatus.OPEN), cell(BAVARIA, PACKAGING, CellStatus.LOST))
    renamed.rows[1].name = "Plant Munich"
    assert whitespace_changes(before, renamed).lost[0].row == "Plant Munich"
    gone = WhitespaceGrid(rows=renamed.rows[:1], columns=renamed.columns, cells=renamed.cells)
    assert whitespace_changes(before, gone).lost == () and whitespace_changes(before, gone).opportunities == ()
    assert whitespace_changes(before, before).opportunities == ()


def test_totals_sum_potential_of_open_sold_and_lost_cells_by_row_column_and_grid() -> None:
    sums = totals(
        grid(
            cell(SAXONY, PACKAGING, CellStatus.OPEN, 100),
            cell(SAXONY, SERVICE, CellStatus.SOLD, 40),
            cell(BAVARIA, PACKAGING, CellStatus.LOST, 25),
            cell(BAVARIA, SERVICE, CellStatus.OPEN),  # no potential: counts 0
        )
    )
    assert sums.rows == {SAXONY: Totals(open=100, sold=40), BAVARIA: Totals(lost=25)}
    assert sums.columns == {PACKAGING: Totals(open=100, lost=25), SERVICE: Totals(sold=40)}
    assert sums.grid == Totals(open=100, sold=40, lost=25)


def test_progress_is_the_share_of_relevant_cells_sold_or_in_pipeline() -> None:
    assert progress(grid()) is None
    cells = (
        cell(SAXONY, PACKAGING, CellStatus.SOLD),
        cell(SAXONY, SERVICE, CellStatus.PIPELINE),
        cell(BAVARIA, PACKAGING, CellStatus.LOST),
        cell(BAVARIA, SERVICE, CellStatus.NOT_RELEVANT),
    )
    assert progress(grid(*cells)) == 2 / 3


def test_the_review_summary_card_lists_the_first_changed_cells_in_german_and_says_how_many_more() -> None:
    opportunity = {"row": "Werk Leipzig", "column": "Sterilverpackung", "status": "pipeline", "potential": 12000.0}
    summary = {"opportunities": [opportunity] * 8, "lost": [opportunity | {"status": "lost", "potential": None}]}
    text = json.dumps(review_summary_card(Texts("de"), "Contoso", 3, summary), ensure_ascii=False)
    assert "Neue Chancen (8)" in text and "Verloren (1)" in text
    assert text.count("Werk Leipzig × Sterilverpackung: In der Pipeline · Potenzial 12,000") == SUMMARY_SHOWN
    assert "… und 2 weitere: Die Whitespace-Matrix im Plan-Tab zeigt sie alle." in text
    assert 'Werk Leipzig × Sterilverpackung: An Wettbewerber verloren"' in text, "no potential, none shown"
    assert "Neue Chancen" not in json.dumps(review_summary_card(Texts("de"), "Contoso", 3, {}), ensure_ascii=False)
