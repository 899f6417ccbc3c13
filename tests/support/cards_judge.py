"""Runs cards through Microsoft's `adaptivecards` renderer library (tests/support/judges/validate_cards.js)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "support" / "judges" / "validate_cards.js"


def card_problems(cards: list[dict[str, Any]]) -> list[list[str]]:
    """One list of parse and validation events per card; empty lists mean valid cards."""
    result = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(cards), capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    return [entry["errors"] for entry in json.loads(result.stdout)]


def assert_valid_cards(cards: list[dict[str, Any]]) -> None:
    assert cards, "no cards to check"
    problems = {i: errors for i, errors in enumerate(card_problems(cards)) if errors}
    assert not problems, f"cards the adaptivecards library rejects: {problems}"
