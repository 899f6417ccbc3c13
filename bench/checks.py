"""How well the failure checks judge: a labelled set of paid agreements and later concessions, and of texts that
are (or only look like) framework agreements, run through the checks' own code with a service catalogue loaded.

    python bench/checks.py                         # the labelled set in tests/data/checks, the demo catalogue
    python bench/checks.py --pairs other.yaml --frameworks other.yaml --catalogue services.yaml --misses

Recall: of the real conflicts (framework agreements), the share flagged. False-alarm rate: of the pairs that
are no conflict (texts that are no framework agreement), the share flagged. The last line reads:

    checks pairs=N recall=R false_alarm_rate=F framework_recall=R2 framework_false_alarm_rate=F2
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kam.catalogue import Catalogue  # noqa: E402
from kam.checks import concession_conflict, is_framework_text  # noqa: E402

DATA = ROOT / "tests" / "data" / "checks"


@dataclass(frozen=True)
class Score:
    caught: int
    real: int
    false_alarms: int
    harmless: int

    @property
    def recall(self) -> float:
        return self.caught / self.real if self.real else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.harmless if self.harmless else 0.0


def score_pairs(catalogue: Catalogue, pairs: list[dict[str, Any]], misses: list[str]) -> Score:
    caught = real = false_alarms = harmless = 0
    for pair in pairs:
        why = concession_conflict(
            catalogue,
            str(pair["paid"]),
            pair.get("paid_service"),
            str(pair["concession"]),
            pair.get("concession_service"),
            ticked=bool(pair.get("concession_ticked")),
        )
        flagged = why is not None
        if pair["conflict"]:
            real += 1
            caught += flagged
        else:
            harmless += 1
            false_alarms += flagged
        if flagged != bool(pair["conflict"]):
            label = "missed" if pair["conflict"] else "false alarm"
            misses.append(f"{label}: {pair['paid']!r} / {pair['concession']!r} ({why})")
    return Score(caught, real, false_alarms, harmless)


def score_frameworks(texts: dict[str, list[dict[str, Any]]], misses: list[str]) -> Score:
    positives = [str(t["text"]) for t in texts.get("framework_agreements", [])]
    negatives = [str(t["text"]) for t in texts.get("not_framework_agreements", [])]
    caught = sum(1 for t in positives if is_framework_text(t))
    false_alarms = sum(1 for t in negatives if is_framework_text(t))
    misses += [f"framework missed: {t!r}" for t in positives if not is_framework_text(t)]
    misses += [f"framework false alarm: {t!r}" for t in negatives if is_framework_text(t)]
    return Score(caught, len(positives), false_alarms, len(negatives))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=Path, default=DATA / "pairs.yaml")
    parser.add_argument("--frameworks", type=Path, default=DATA / "framework_texts.yaml")
    parser.add_argument("--catalogue", type=Path, default=ROOT / "deploy" / "services.example.yaml")
    parser.add_argument("--misses", action="store_true", help="print every pair the checks judged wrongly")
    args = parser.parse_args()
    catalogue = Catalogue.load(args.catalogue)
    pairs = yaml.safe_load(args.pairs.read_text(encoding="utf-8"))["pairs"]
    frameworks = yaml.safe_load(args.frameworks.read_text(encoding="utf-8"))
    misses: list[str] = []
    concessions = score_pairs(catalogue, pairs, misses)
    agreements = score_frameworks(frameworks, misses)
    if args.misses:
        print("\n".join(misses) or "no misses")
    print(
        f"concessions: {concessions.caught}/{concessions.real} conflicts caught, "
        f"{concessions.false_alarms}/{concessions.harmless} harmless pairs flagged"
    )
    print(
        f"framework agreements: {agreements.caught}/{agreements.real} recognised, "
        f"{agreements.false_alarms}/{agreements.harmless} look-alikes taken for one"
    )
    print(
        f"checks pairs={len(pairs)} recall={concessions.recall:.3f} "
        f"false_alarm_rate={concessions.false_alarm_rate:.3f} "
        f"framework_recall={agreements.recall:.3f} framework_false_alarm_rate={agreements.false_alarm_rate:.3f}"
    )


if __name__ == "__main__":
    main()
