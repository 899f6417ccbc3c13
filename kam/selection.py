"""Key account selection: the criteria an account is scored on, their weights, the tier each score earns, how
often the list is reviewed, and when dependence on few accounts is a risk.

KAM.md: the list is reviewed often, by criteria beyond revenue. Admins keep the model in a YAML file
(`KAMBOT_SELECTION_FILE`), read and checked at start-up: a file that cannot be used stops kambot with
where and why. Without a file, the defaults below apply. For example::

    criteria:                       # each scored 0..5 per account and candidate; weight > 0
      customer_complexity: 2
      strategic_importance: 3
      international_organisation: 1
      addressable_potential: 3
      customers_customers: 1        # the role of the customer's customers
      innovation_partner:           # a company-defined criterion: a weight and its names
        weight: 1
        names: {en: Innovation partner, de: Innovationspartner}
    tiers:                          # the lowest weighted score (0..5) that earns each tier
      key_account: 2.5
      strategic_key_account: 3.5
      corporate_strategic_key_account: 4.2
    list_review:
      every_days: 91                # a card to the head of KAM when a review is due
    dependency:                     # flagged on the portfolio page and the head of KAM's monthly card
      top1_share: 0.15              # above this share of revenue: a risk
      top5_share: 0.5
      top10_share: 0.7
      herfindahl: 0.1
      key_account_share_min: 0.3    # below this share of the company's revenue: a risk
    health:                         # the health score (docs/kpis.md): the weight of each part (0 leaves it out)
      weights: {coverage: 20, freshness: 20, plan: 15, acknowledgements: 15, conflicts: 10, review: 10, whitespace: 10}
      drop_alert: 10                # a fall of more points than this tells the KA managers why
      compare_days: 7               # ... compared with the score this many days earlier

The weighted score is the weighted mean of the criteria scored (an unscored criterion is left out, not
counted as 0); nothing scored, no score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kam.health import DEFAULT_WEIGHTS, HealthSettings, Part
from kam.models import Tier
from kam.text import one_line

SCORE_MIN, SCORE_MAX = 0.0, 5.0
CRITERION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CRITERIA_MAX = 20
NAME_MAX = 60
WEIGHT_MAX = 100.0
REVIEW_DAYS_MIN, REVIEW_DAYS_MAX = 7, 730
DROP_ALERT_MAX = 100.0
COMPARE_DAYS_MIN, COMPARE_DAYS_MAX = 1, 90
SECTIONS = ("criteria", "tiers", "list_review", "dependency", "health")
# The modern criteria (KAM.md); their names are in the card catalogue (selection.criterion.<key>).
MODERN_CRITERIA = (
    "customer_complexity",
    "strategic_importance",
    "international_organisation",
    "addressable_potential",
    "customers_customers",
)
DEPENDENCY_KEYS = ("top1_share", "top5_share", "top10_share", "herfindahl", "key_account_share_min")
DEFAULT_DEPENDENCY: Mapping[str, float] = {
    "top1_share": 0.15,
    "top5_share": 0.5,
    "top10_share": 0.7,
    "herfindahl": 0.1,
    "key_account_share_min": 0.3,
}
DEFAULT_TIERS: Mapping[Tier, float] = {
    Tier.KEY_ACCOUNT: 2.5,
    Tier.INTERNATIONAL_KEY_ACCOUNT: 3.0,
    Tier.STRATEGIC_KEY_ACCOUNT: 3.5,
    Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT: 4.2,
}


class SelectionFileError(Exception):
    """The selection file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: float = 1.0
    names: Mapping[str, str] = field(default_factory=dict)  # language -> name; empty for the modern ones

    @property
    def modern(self) -> bool:
        return self.key in MODERN_CRITERIA

    def name(self, language: str) -> str | None:
        """The company's own name for it in `language` (else English, else the first); None: use the catalogue's."""
        if not self.names:
            return None
        base = language.split("-")[0].lower()
        return self.names.get(base) or self.names.get("en") or next(iter(self.names.values()))


def _default_criteria() -> tuple[Criterion, ...]:
    return tuple(Criterion(key) for key in MODERN_CRITERIA)


@dataclass(frozen=True)
class Selection:
    criteria: tuple[Criterion, ...] = field(default_factory=_default_criteria)
    tiers: Mapping[Tier, float] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    review_every_days: int = 91
    dependency: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEPENDENCY))
    health: HealthSettings = field(default_factory=HealthSettings)

    @property
    def weights(self) -> Mapping[str, float]:
        return {c.key: c.weight for c in self.criteria}

    def score(self, scores: Mapping[str, float] | None) -> float | None:
        """The weighted mean of the criteria scored, 0..5; None when none of ours is scored."""
        scored = [(c.weight, float(scores[c.key])) for c in self.criteria if scores and scores.get(c.key) is not None]
        total = sum(weight for weight, _ in scored)
        if not scored or total <= 0:
            return None
        return round(sum(weight * value for weight, value in scored) / total, 2)

    def tier_for(self, score: float) -> Tier | None:
        """The tier with the highest threshold the score reaches; None below the lowest (not a key account)."""
        reached = [(threshold, tier) for tier, threshold in self.tiers.items() if score >= threshold]
        return max(reached, key=lambda pair: pair[0])[1] if reached else None

    @property
    def lowest_threshold(self) -> float:
        return min(self.tiers.values())

    @classmethod
    def load(cls, path: str | Path | None) -> Selection:
        """The model in the file, or the defaults without one; SelectionFileError says where it is wrong."""
        if not path:
            return cls()
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise SelectionFileError(f"{path}: {error}") from None
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: Any) -> Selection:
        if not isinstance(raw, dict):
            raise SelectionFileError(f"expected the sections {', '.join(SECTIONS[:-1])} and/or {SECTIONS[-1]}")
        unknown = sorted(set(raw) - set(SECTIONS))
        if unknown:
            raise SelectionFileError(f"{unknown[0]}: not a section ({', '.join(SECTIONS)})")
        defaults = cls()
        return cls(
            criteria=_criteria(raw["criteria"]) if "criteria" in raw else defaults.criteria,
            tiers=_tiers(raw["tiers"]) if "tiers" in raw else defaults.tiers,
            review_every_days=_review_days(raw["list_review"]) if "list_review" in raw else 91,
            dependency=_dependency(raw["dependency"]) if "dependency" in raw else defaults.dependency,
            health=_health(raw["health"]) if "health" in raw else defaults.health,
        )


def _number(raw: Any, where: str, low: float, high: float, *, above_low: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SelectionFileError(f"{where}: a number from {low:g} to {high:g}, not {raw!r}")
    value = float(raw)
    if value > high or value < low or (above_low and value <= low):
        bound = f"above {low:g}" if above_low else f"from {low:g}"
        raise SelectionFileError(f"{where}: {value:g} is out of range (a number {bound} to {high:g})")
    return value


def _criteria(raw: Any) -> tuple[Criterion, ...]:
    if not isinstance(raw, dict) or not raw:
        raise SelectionFileError("criteria: expected each criterion with its weight, e.g. strategic_importance: 3")
    if len(raw) > CRITERIA_MAX:
        raise SelectionFileError(f"criteria: at most {CRITERIA_MAX} criteria, not {len(raw)}")
    criteria = []
    for key, spec in raw.items():
        where = f"criteria.{key}"
        if not isinstance(key, str) or not CRITERION_KEY.match(key):
            raise SelectionFileError(f"{where}: a name of lower-case letters, digits and _ (starting with a letter)")
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - {"weight", "names"})
            if unknown:
                raise SelectionFileError(f"{where}.{unknown[0]}: not a setting (weight, names)")
            weight = _number(spec.get("weight", 1), f"{where}.weight", 0, WEIGHT_MAX, above_low=True)
            names = _names(spec.get("names"), f"{where}.names")
        else:
            weight, names = _number(spec, where, 0, WEIGHT_MAX, above_low=True), {}
        if key not in MODERN_CRITERIA and not names:
            raise SelectionFileError(
                f"{where}: a criterion of the company's own needs names, e.g. {{en: ..., de: ...}}"
            )
        criteria.append(Criterion(key, weight, names))
    return tuple(criteria)


def _names(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not raw:
        raise SelectionFileError(f"{where}: expected a name per language, e.g. {{en: Innovation partner}}")
    names = {}
    for language, name in raw.items():
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
            raise SelectionFileError(f"{where}: {language!r} is not a two-letter language code")
        if not isinstance(name, str) or not one_line(name) or len(one_line(name)) > NAME_MAX:
            raise SelectionFileError(f"{where}.{language}: a name of 1 to {NAME_MAX} characters")
        names[language] = one_line(name)
    return names


def _tiers(raw: Any) -> dict[Tier, float]:
    if not isinstance(raw, dict) or not raw:
        raise SelectionFileError("tiers: expected the lowest score for each tier, e.g. key_account: 2.5")
    tiers: dict[Tier, float] = {}
    for name, threshold in raw.items():
        try:
            tier = Tier(name)
        except ValueError:
            raise SelectionFileError(f"tiers.{name}: not a tier ({', '.join(t.value for t in Tier)})") from None
        tiers[tier] = _number(threshold, f"tiers.{name}", SCORE_MIN, SCORE_MAX)
    same = [t.value for t in tiers if list(tiers.values()).count(tiers[t]) > 1]
    if same:
        raise SelectionFileError(f"tiers: {' and '.join(same)} have the same threshold; each tier needs its own")
    return tiers


def _review_days(raw: Any) -> int:
    if not isinstance(raw, dict) or set(raw) != {"every_days"}:
        raise SelectionFileError("list_review: expected every_days, e.g. every_days: 91")
    days = raw["every_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not REVIEW_DAYS_MIN <= days <= REVIEW_DAYS_MAX:
        raise SelectionFileError(
            f"list_review.every_days: a whole number of days from {REVIEW_DAYS_MIN} to {REVIEW_DAYS_MAX}"
        )
    return days


def _dependency(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise SelectionFileError(f"dependency: expected thresholds for {', '.join(DEPENDENCY_KEYS)}")
    thresholds = dict(DEFAULT_DEPENDENCY)
    for key, value in raw.items():
        if key not in DEPENDENCY_KEYS:
            raise SelectionFileError(f"dependency.{key}: not a threshold ({', '.join(DEPENDENCY_KEYS)})")
        thresholds[key] = _number(value, f"dependency.{key}", 0, 1)
    return thresholds


def _health(raw: Any) -> HealthSettings:
    """The weights of the health score's parts (those not named keep their default), the drop alert and the day
    it compares with."""
    if not isinstance(raw, dict):
        raise SelectionFileError("health: expected weights, drop_alert and/or compare_days")
    unknown = sorted(set(raw) - {"weights", "drop_alert", "compare_days"})
    if unknown:
        raise SelectionFileError(f"health.{unknown[0]}: not a setting (weights, drop_alert, compare_days)")
    weights = dict(DEFAULT_WEIGHTS)
    given = raw.get("weights", {})
    if not isinstance(given, dict):
        raise SelectionFileError("health.weights: expected a weight per part, e.g. coverage: 20")
    parts = ", ".join(p.value for p in Part)
    for name, weight in given.items():
        if name not in {p.value for p in Part}:
            raise SelectionFileError(f"health.weights.{name}: not a part of the health score ({parts})")
        weights[Part(name)] = _number(weight, f"health.weights.{name}", 0, WEIGHT_MAX)
    if not any(weight > 0 for weight in weights.values()):
        raise SelectionFileError("health.weights: at least one part needs a weight above 0")
    drop_alert = _number(raw.get("drop_alert", 10), "health.drop_alert", 0, DROP_ALERT_MAX)
    days = raw.get("compare_days", 7)
    if isinstance(days, bool) or not isinstance(days, int) or not COMPARE_DAYS_MIN <= days <= COMPARE_DAYS_MAX:
        raise SelectionFileError(
            f"health.compare_days: a whole number of days from {COMPARE_DAYS_MIN} to {COMPARE_DAYS_MAX}, not {days!r}"
        )
    return HealthSettings(weights, drop_alert, days)


def clean_scores(selection: Selection, raw: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The scores of a form: criterion -> 0..5 for the criteria we know (empty = not scored), and the keys of those
    that are not a number in range."""
    scores: dict[str, float] = {}
    wrong: list[str] = []
    for criterion in selection.criteria:
        value = raw.get(criterion.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            wrong.append(criterion.key)
            continue
        if not SCORE_MIN <= number <= SCORE_MAX or number != number:
            wrong.append(criterion.key)
            continue
        scores[criterion.key] = number
    return scores, wrong
