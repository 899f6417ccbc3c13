"""The health score's arithmetic, worked out by hand: weights, parts not counted, rounding, the admins' weights,
and when a fall is a drop the KA managers hear of."""

from __future__ import annotations

import pytest

from kam.health import (
    DEFAULT_WEIGHTS,
    FallenPart,
    Health,
    Note,
    Part,
    PartScore,
    drop_between,
    score_parts,
)
from kam.kpi_plan import whitespace_progress
from kam.selection import Selection, SelectionFileError
from kam.whitespace import CellStatus, GridLine, WhitespaceCell, WhitespaceGrid

EVERY_PART_HALF = {part: (0.5, None) for part in Part}


def test_every_part_counted_gives_the_weighted_mean() -> None:
    values = {
        Part.COVERAGE: (0.5, None),  # 20 × 0.5 = 10
        Part.FRESHNESS: (1.0, None),  # 20 × 1 = 20
        Part.PLAN: (0.8, None),  # 15 × 0.8 = 12
        Part.ACKNOWLEDGEMENTS: (0.6, None),  # 15 × 0.6 = 9
        Part.CONFLICTS: (0.75, None),  # 10 × 0.75 = 7.5
        Part.REVIEW: (0.5, None),  # 10 × 0.5 = 5
        Part.WHITESPACE: (0.25, None),  # 10 × 0.25 = 2.5
    }
    health = score_parts(values, DEFAULT_WEIGHTS)
    # 66 of 100 weight -> 66
    assert health.score == 66
    points = {p.part: p.points for p in health.parts}
    assert points == {
        Part.COVERAGE: 10.0,
        Part.FRESHNESS: 20.0,
        Part.PLAN: 12.0,
        Part.ACKNOWLEDGEMENTS: 9.0,
        Part.CONFLICTS: 7.5,
        Part.REVIEW: 5.0,
        Part.WHITESPACE: 2.5,
    }
    # Coverage costs 10 points, acknowledgements 6, whitespace 7.5: the two that cost most
    assert [p.part for p in health.costliest()] == [Part.COVERAGE, Part.WHITESPACE]


def test_a_part_without_data_is_not_counted_and_its_weight_is_shared_out() -> None:
    values = dict(EVERY_PART_HALF) | {Part.WHITESPACE: (None, None), Part.FRESHNESS: (1.0, None)}
    health = score_parts(values, DEFAULT_WEIGHTS)
    # counted weight 90; 20 × 1 + 70 × 0.5 = 55; 100 × 55 / 90 = 61.11 -> 61
    assert health.score == 61
    whitespace = next(p for p in health.parts if p.part is Part.WHITESPACE)
    assert whitespace == PartScore(Part.WHITESPACE, 10.0, None) and not whitespace.counted
    freshness = next(p for p in health.parts if p.part is Part.FRESHNESS)
    assert freshness.points == pytest.approx(22.22)  # 100 × 20 / 90
    assert sum(p.points for p in health.parts) == pytest.approx(61.11, abs=0.01)


def test_the_score_rounds_half_up() -> None:
    weights = {Part.COVERAGE: 1.0, Part.PLAN: 1.0}
    # 100 × (0.125 + 0.0) / 2 = 6.25 -> 6; 100 × (0.125 + 0.005) / 2 = 6.5 -> 7 (not to the even 6)
    assert score_parts({Part.COVERAGE: (0.125, None), Part.PLAN: (0.0, None)}, weights).score == 6
    assert score_parts({Part.COVERAGE: (0.125, None), Part.PLAN: (0.005, None)}, weights).score == 7
    # 100 × (0.5 × 1 + 0.25 × 1) / 2 = 37.5 -> 38
    assert score_parts({Part.COVERAGE: (0.5, None), Part.PLAN: (0.25, None)}, weights).score == 38


def test_no_counted_part_gives_no_score_rather_than_zero() -> None:
    health = score_parts({part: (None, None) for part in Part}, DEFAULT_WEIGHTS)
    assert health.score is None and health.costliest() == []


def test_the_admins_weights_from_the_selection_file() -> None:
    selection = Selection.parse(
        {"health": {"weights": {"whitespace": 0, "coverage": 50}, "drop_alert": 5, "compare_days": 14}}
    )
    assert selection.health.drop_alert == 5 and selection.health.compare_days == 14
    assert selection.health.weights[Part.WHITESPACE] == 0 and selection.health.weights[Part.PLAN] == 15
    values = dict(EVERY_PART_HALF) | {Part.COVERAGE: (1.0, None), Part.WHITESPACE: (0.0, None)}
    # whitespace weighs 0: left out; counted weight 50 + 20 + 15 + 15 + 10 + 10 = 120; 50 × 1 + 70 × 0.5 = 85;
    # 100 × 85 / 120 = 70.83 -> 71
    health = score_parts(values, selection.health.weights)
    assert health.score == 71
    assert next(p for p in health.parts if p.part is Part.WHITESPACE).value is None


def test_without_a_health_section_the_defaults_apply() -> None:
    health = Selection.parse({"list_review": {"every_days": 30}}).health
    assert dict(health.weights) == {
        Part.COVERAGE: 20,
        Part.FRESHNESS: 20,
        Part.PLAN: 15,
        Part.ACKNOWLEDGEMENTS: 15,
        Part.CONFLICTS: 10,
        Part.REVIEW: 10,
        Part.WHITESPACE: 10,
    }
    assert health.drop_alert == 10 and health.compare_days == 7


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"weights": {"luck": 5}}, "health.weights.luck: not a part of the health score (coverage, freshness"),
        ({"weights": {"plan": -1}}, "health.weights.plan: -1 is out of range"),
        ({"weights": {"plan": "much"}}, "health.weights.plan: a number from 0 to 100, not 'much'"),
        ({"weights": dict.fromkeys([p.value for p in Part], 0)}, "health.weights: at least one part needs a weight"),
        ({"weights": [1, 2]}, "health.weights: expected a weight per part"),
        ({"drop_alert": 200}, "health.drop_alert: 200 is out of range"),
        ({"compare_days": 0}, "health.compare_days: a whole number of days from 1 to 90, not 0"),
        ({"compare_days": 2.5}, "health.compare_days: a whole number of days from 1 to 90, not 2.5"),
        ({"alarm": 1}, "health.alarm: not a setting (weights, drop_alert, compare_days)"),
        ("on", "health: expected weights, drop_alert and/or compare_days"),
    ],
)
def test_a_wrong_health_section_says_where(section: object, message: str) -> None:
    with pytest.raises(SelectionFileError) as error:
        Selection.parse({"health": section})
    assert message in str(error.value)


def _parts(**values: tuple[float | None, float]) -> dict[str, dict[str, float | None]]:
    return {name: {"value": value, "points": points} for name, (value, points) in values.items()}


def test_a_fall_of_more_than_the_alert_is_a_drop_with_the_parts_that_fell() -> None:
    before = _parts(coverage=(1.0, 25.0), conflicts=(1.0, 12.5), plan=(0.5, 10.0), review=(None, 0.0))
    now = _parts(coverage=(0.5, 12.5), conflicts=(0.75, 9.38), plan=(0.75, 15.0), review=(None, 0.0))
    # 48 -> 37: 11 points down, more than 10
    drop = drop_between(48, before, 37, now, 10)
    assert drop is not None and (drop.before, drop.now) == (48, 37)
    assert drop.fallen == (
        FallenPart(Part.COVERAGE, 1.0, 0.5),  # 12.5 points lost
        FallenPart(Part.CONFLICTS, 1.0, 0.75),  # 3.12 lost; the plan rose, the review did not move
    )
    assert drop_between(48, before, 38, now, 10) is None  # exactly 10 is not more than 10
    assert drop_between(30, before, 48, now, 10) is None  # a rise


def test_a_part_no_longer_counted_falls_to_not_counted() -> None:
    drop = drop_between(80, _parts(acknowledgements=(0.9, 20.0)), 60, _parts(acknowledgements=(None, 0.0)), 10)
    assert drop is not None and drop.fallen == (FallenPart(Part.ACKNOWLEDGEMENTS, 0.9, None),)


def test_whitespace_progress_of_the_plans_grid() -> None:
    rows, columns = [GridLine(name="Plant A"), GridLine(name="Plant B")], [GridLine(name="Service")]
    statuses = [CellStatus.SOLD, CellStatus.NOT_RELEVANT]
    cells = [WhitespaceCell(row_id=r.id, column_id=columns[0].id, status=s) for r, s in zip(rows, statuses)]
    grid = WhitespaceGrid(rows=rows, columns=columns, cells=cells).model_dump(mode="json")
    assert whitespace_progress({"whitespace": grid}) == 1.0  # 1 sold of 1 relevant
    assert whitespace_progress({}) is None
    assert whitespace_progress({"whitespace": {"rows": "nonsense"}}) is None  # not a grid: not counted


def test_the_stored_parts_keep_weight_value_points_and_note() -> None:
    health = score_parts({Part.COVERAGE: (0.0, Note.NO_DECISION_MAKERS), Part.PLAN: (1.0, None)}, DEFAULT_WEIGHTS)
    stored = Health(1, health.score, health.parts).as_json()
    # counted 20 + 15 = 35: coverage 0 points, plan 100 × 15 / 35 = 42.86 -> score 43
    assert health.score == 43
    assert stored["coverage"] == {"weight": 20.0, "value": 0.0, "points": 0.0, "note": "no_decision_makers"}
    assert stored["plan"]["points"] == pytest.approx(42.86)
    assert stored["whitespace"] == {"weight": 10.0, "value": None, "points": 0.0, "note": None}


def test_the_worked_example_of_the_docs() -> None:
    values = {
        Part.COVERAGE: (0.5, None),
        Part.FRESHNESS: (1.0, None),
        Part.PLAN: (0.5, None),
        Part.ACKNOWLEDGEMENTS: (0.5, None),
        Part.CONFLICTS: (0.75, None),
        Part.REVIEW: (0.5, None),
        Part.WHITESPACE: (None, None),
    }
    health = score_parts(values, DEFAULT_WEIGHTS)
    # 100 × 57.5 / 90 = 63.9 -> 64; coverage costs 11.11, plan and acknowledgements 8.33 each (plan listed first)
    assert health.score == 64
    assert [(p.part, p.cost) for p in health.costliest()] == [(Part.COVERAGE, 11.11), (Part.PLAN, 8.33)]
