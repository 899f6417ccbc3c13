"""The key account selection as admins write it: weighted scores and tiers computed by hand, where a file is wrong
said where, and `kambot serve` / `kambot selection check` stopping with that one line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kam.models import Tier
from kam.selection import Selection, SelectionFileError, clean_scores

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "selection.example.yaml"


def load_yaml(folder: Path, text: str) -> Selection:
    path = folder / "selection.yaml"
    path.write_text(text, encoding="utf-8")
    return Selection.load(path)


def test_the_example_file_is_the_model_the_admin_guide_describes() -> None:
    selection = Selection.load(EXAMPLE)
    assert selection.weights == {
        "customer_complexity": 2,
        "strategic_importance": 3,
        "international_organisation": 1,
        "addressable_potential": 3,
        "customers_customers": 1,
        "innovation_partner": 1,
    }
    assert selection.criteria[-1].name("de-DE") == "Innovationspartner"
    assert selection.criteria[-1].name("fr") == "Innovation partner"
    assert selection.criteria[0].name("en") is None  # a modern criterion: its name is in the card catalogue
    assert selection.review_every_days == 91
    assert selection.dependency["key_account_share_min"] == 0.3


def test_the_score_is_the_weighted_mean_of_the_criteria_scored() -> None:
    selection = Selection.load(EXAMPLE)
    # (2*4 + 3*5 + 1*2 + 3*3 + 1*1 + 1*0) / 11 = 35 / 11 = 3.18
    scores = {
        "customer_complexity": 4,
        "strategic_importance": 5,
        "international_organisation": 2,
        "addressable_potential": 3,
        "customers_customers": 1,
        "innovation_partner": 0,
    }
    assert selection.score(scores) == 3.18
    # Unscored criteria are left out, not 0: (3*5 + 3*3) / 6 = 4.0
    assert selection.score({"strategic_importance": 5, "addressable_potential": 3}) == 4.0
    # Criteria no longer in the file count for nothing.
    assert selection.score({"retired_criterion": 5}) is None
    assert selection.score({}) is None and selection.score(None) is None


def test_the_tier_is_the_highest_threshold_reached() -> None:
    selection = Selection.load(EXAMPLE)
    assert selection.tier_for(2.49) is None
    assert selection.tier_for(2.5) == Tier.KEY_ACCOUNT
    assert selection.tier_for(3.18) == Tier.INTERNATIONAL_KEY_ACCOUNT
    assert selection.tier_for(4.0) == Tier.STRATEGIC_KEY_ACCOUNT
    assert selection.tier_for(5.0) == Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT
    assert selection.lowest_threshold == 2.5


def test_without_a_file_the_five_modern_criteria_count_alike() -> None:
    selection = Selection.load("")
    assert len(selection.criteria) == 5 and set(selection.weights.values()) == {1.0}
    assert selection.score({"customer_complexity": 5, "strategic_importance": 2}) == 3.5
    assert selection.review_every_days == 91
    assert set(selection.dependency) == {
        "top1_share",
        "top5_share",
        "top10_share",
        "herfindahl",
        "key_account_share_min",
    }


def test_a_form_s_scores_are_kept_in_range_and_the_wrong_ones_named() -> None:
    selection = Selection()
    scores, wrong = clean_scores(
        selection,
        {
            "customer_complexity": "4,5",
            "strategic_importance": "",
            "addressable_potential": "7",
            "customers_customers": "x",
        },
    )
    assert scores == {"customer_complexity": 4.5}
    assert wrong == ["addressable_potential", "customers_customers"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("criteria: [a, b]", "criteria: expected each criterion with its weight"),
        ("criteria:\n  strategic_importance: 0", "criteria.strategic_importance: 0 is out of range (a number above 0"),
        (
            "criteria:\n  strategic_importance: high",
            "criteria.strategic_importance: a number from 0 to 100, not",
        ),
        ("criteria:\n  Bad Name: 1", "criteria.Bad Name: a name of lower-case letters"),
        ("criteria:\n  innovation: 2", "criteria.innovation: a criterion of the company's own needs names"),
        ("criteria:\n  innovation: {weight: 2, names: {english: X}}", "criteria.innovation.names: 'english' is not"),
        ("criteria:\n  innovation: {weight: 2, colour: red}", "criteria.innovation.colour: not a setting"),
        ("tiers:\n  gold: 3", "tiers.gold: not a tier (key_account,"),
        ("tiers:\n  key_account: 6", "tiers.key_account: 6 is out of range (a number from 0 to 5)"),
        ("tiers:\n  key_account: 3\n  strategic_key_account: 3", "tiers: key_account and strategic_key_account have"),
        ("list_review:\n  every_days: 2", "list_review.every_days: a whole number of days from 7 to 730"),
        ("list_review: 91", "list_review: expected every_days"),
        ("dependency:\n  top3_share: 0.4", "dependency.top3_share: not a threshold (top1_share,"),
        ("dependency:\n  herfindahl: 1.5", "dependency.herfindahl: 1.5 is out of range"),
        ("weights: {}", "weights: not a section"),
        ("criteria: [\n", "selection.yaml: while parsing"),
    ],
)
def test_a_selection_file_that_cannot_be_used_says_where(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(SelectionFileError) as error:
        load_yaml(tmp_path, text)
    assert where in str(error.value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_serve_with_a_selection_file_it_cannot_use_stops_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "selection.yaml"
    bad.write_text("tiers:\n  gold: 3\n", encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "KAMBOT_SELECTION_FILE": str(bad),
        "KAMBOT_DATABASE_URL": "sqlite+aiosqlite://",
        "KAMBOT_PORT": str(free_port()),  # were the file read after the port, a taken port would say so instead
    }
    done = run_cli("serve", env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "KAMBOT_SELECTION_FILE cannot be used:" in output and "tiers.gold: not a tier" in output
    assert "Traceback" not in output

    checked = run_cli("selection", "check", str(bad), env=env)
    assert checked.returncode == 2 and "tiers.gold: not a tier" in checked.stdout + checked.stderr
    good = run_cli("selection", "check", str(EXAMPLE), env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    printed = good.stdout + good.stderr
    assert "Innovation partner" in printed and "List review every 91 days" in printed
    assert "Health score weights: coverage 20, freshness 20, plan 15, acknowledgements 15, conflicts 10" in printed
    assert "Health drop alert: more than 10 points below 7 days earlier" in printed
    wrong_health = tmp_path / "health.yaml"
    wrong_health.write_text("health:\n  weights:\n    luck: 5\n", encoding="utf-8")
    checked = run_cli("selection", "check", str(wrong_health), env=env)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 2 and "health.weights.luck: not a part of the health score" in output
