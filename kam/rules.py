"""Communication rules: who must be informed about what, and who may decide what.

Sensible defaults per tier; admins override them per tier or per account in a
YAML file (`KAMBOT_RULES_FILE`), for example::

    tiers:
      key_account:
        inform:
          - {about: decision.pricing, inform: [manager, "function:country lead"]}
        decide:
          - {category: pricing, who: [manager]}
    accounts:
      Contoso Pharma:
        inform:
          - {about: contact, inform: [manager, "function:service"]}

`about` is `contact`, `contact.management` (a contact with the customer's
management or executives), `decision` or `decision.<category>`. Targets are
`manager`, `admin`, `team` or `function:<name>` (the member's function from the
account list, case-insensitive). A rule for an account replaces the tier's rule
for the same `about` (or category); a tier's replaces the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kam.models import Account, DecisionCategory, Person, Role, Tier

TARGETS = ("manager", "admin", "team")


class RulesFileError(Exception):
    """The rules file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class InformRule:
    about: str
    inform: tuple[str, ...]


@dataclass(frozen=True)
class DecideRule:
    category: DecisionCategory
    who: tuple[str, ...]


@dataclass(frozen=True)
class RuleSet:
    inform: Mapping[str, InformRule] = field(default_factory=dict)
    decide: Mapping[DecisionCategory, DecideRule] = field(default_factory=dict)

    def over(self, base: RuleSet) -> RuleSet:
        return RuleSet({**base.inform, **self.inform}, {**base.decide, **self.decide})


def _inform(*rules: tuple[str, tuple[str, ...]]) -> dict[str, InformRule]:
    return {about: InformRule(about, targets) for about, targets in rules}


_COMMON = _inform(
    ("contact", ("manager",)),
    ("contact.management", ("manager",)),
    ("decision", ("manager",)),
    ("decision.pricing", ("manager", "function:country lead", "function:finance")),
    ("decision.contract", ("manager", "function:country lead")),
)
_STRATEGIC = RuleSet(
    _COMMON,
    {
        DecisionCategory.PRICING: DecideRule(DecisionCategory.PRICING, ("manager",)),
        DecisionCategory.CONTRACT: DecideRule(DecisionCategory.CONTRACT, ("manager",)),
    },
)
DEFAULTS: dict[Tier, RuleSet] = {
    Tier.KEY_ACCOUNT: RuleSet(
        _COMMON, {DecisionCategory.CONTRACT: DecideRule(DecisionCategory.CONTRACT, ("manager",))}
    ),
    Tier.INTERNATIONAL_KEY_ACCOUNT: _STRATEGIC,
    Tier.STRATEGIC_KEY_ACCOUNT: _STRATEGIC,
    Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT: _STRATEGIC,
}


def _targets(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise RulesFileError(f'{where}: list who, e.g. [manager, "function:finance"]')
    targets = []
    for target in raw:
        if not isinstance(target, str) or not (target in TARGETS or target.startswith("function:")):
            raise RulesFileError(f"{where}: {target!r} is not manager, admin, team or function:<name>")
        targets.append(target.lower())
    return tuple(targets)


def _rule_set(raw: Any, where: str) -> RuleSet:
    if not isinstance(raw, Mapping):
        raise RulesFileError(f"{where}: expected inform and/or decide")
    inform: dict[str, InformRule] = {}
    for i, rule in enumerate(raw.get("inform") or []):
        here = f"{where}.inform[{i}]"
        about = rule.get("about") if isinstance(rule, Mapping) else None
        valid = {"contact", "contact.management", "decision", *(f"decision.{c.value}" for c in DecisionCategory)}
        if about not in valid:
            raise RulesFileError(f"{here}: about must be one of {', '.join(sorted(valid))}")
        inform[about] = InformRule(about, _targets(rule.get("inform"), here))
    decide: dict[DecisionCategory, DecideRule] = {}
    for i, rule in enumerate(raw.get("decide") or []):
        here = f"{where}.decide[{i}]"
        category = rule.get("category") if isinstance(rule, Mapping) else None
        if category not in {c.value for c in DecisionCategory}:
            raise RulesFileError(f"{here}: category must be one of {', '.join(c.value for c in DecisionCategory)}")
        decide[DecisionCategory(category)] = DecideRule(DecisionCategory(category), _targets(rule.get("who"), here))
    return RuleSet(inform, decide)


@dataclass(frozen=True)
class Rules:
    """The rules in force: defaults, then the file's tiers, then the file's accounts."""

    tiers: Mapping[Tier, RuleSet] = field(default_factory=dict)
    accounts: Mapping[str, RuleSet] = field(default_factory=dict)

    def for_account(self, account: Account) -> RuleSet:
        rules = self.tiers.get(account.tier, RuleSet()).over(DEFAULTS[account.tier])
        return self.accounts.get(account.name.lower(), RuleSet()).over(rules)

    @classmethod
    def load(cls, path: str | Path | None) -> Rules:
        if not path:
            return cls()
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise RulesFileError(f"{path}: {error}") from None
        if not isinstance(raw, Mapping):
            raise RulesFileError(f"{path}: expected the sections tiers and/or accounts")
        tiers = {}
        for name, rules in (raw.get("tiers") or {}).items():
            if name not in {t.value for t in Tier}:
                raise RulesFileError(f"tiers.{name}: not a tier ({', '.join(t.value for t in Tier)})")
            tiers[Tier(name)] = _rule_set(rules, f"tiers.{name}")
        accounts = {
            str(name).lower(): _rule_set(rules, f"accounts.{name}")
            for name, rules in (raw.get("accounts") or {}).items()
        }
        return cls(tiers, accounts)


def _matches(target: str, role: Role, function: str | None) -> bool:
    if target == "team":
        return True
    if target.startswith("function:"):
        return (function or "").lower() == target.split(":", 1)[1].strip()
    return role.value == target


def people_for(account: Account, targets: Iterable[str]) -> list[Person]:
    wanted = tuple(targets)
    found = {m.person.id: m.person for m in account.members if any(_matches(t, m.role, m.function) for t in wanted)}
    return sorted(found.values(), key=lambda p: p.name)


def must_inform(rules: Rules, account: Account, about: Iterable[str]) -> list[Person]:
    """Everyone a rule names for any of the `about` keys (e.g. "decision" and "decision.pricing")."""
    rule_set = rules.for_account(account)
    targets = [t for key in about if key in rule_set.inform for t in rule_set.inform[key].inform]
    return people_for(account, targets)


def may_decide(rules: Rules, account: Account, person: Person, category: DecisionCategory) -> bool:
    rule = rules.for_account(account).decide.get(category)
    if rule is None:
        return True
    return any(p.id == person.id for p in people_for(account, rule.who))
