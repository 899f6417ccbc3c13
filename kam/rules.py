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

    tiers:
      key_account:
        acknowledge: {remind_after_hours: 48, report_after_hours: 24}

`about` is `contact`, `contact.management` (a contact with the customer's
management or executives), `decision` or `decision.<category>`. Targets are
`manager`, `admin`, `team` or `function:<name>` (the member's function from the
account list, case-insensitive); an empty list means nobody (`inform`) or
anybody (`who`). A rule for an account replaces the tier's rule for the same
`about` (or category); a tier's replaces the default. The KA manager's own
rules for an account (edited in the `rules` card, stored with the account) come
last and win.

Everyone a rule names is asked to acknowledge the item (not its author). The
unacknowledged are reminded once after `remind_after_hours`, and reported to the
KA manager `report_after_hours` after that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kam.access import Act, Principal, Subject, is_allowed
from kam.errors import NotAllowed
from kam.models import Account, DecisionCategory, Person, Role, Tier

TARGETS = ("manager", "admin", "team")
ABOUTS = ("contact", "contact.management", "decision", *(f"decision.{c.value}" for c in DecisionCategory))
DEFAULT_REMIND_AFTER = dt.timedelta(hours=24)
DEFAULT_REPORT_AFTER = dt.timedelta(hours=24)
HOURS_MAX = 24 * 60


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
    remind_after: dt.timedelta | None = None
    report_after: dt.timedelta | None = None

    def over(self, base: RuleSet) -> RuleSet:
        return RuleSet(
            {**base.inform, **self.inform},
            {**base.decide, **self.decide},
            self.remind_after if self.remind_after is not None else base.remind_after,
            self.report_after if self.report_after is not None else base.report_after,
        )

    def beyond(self, base: RuleSet) -> RuleSet:
        """Only what differs from `base`: stored that way, later changes of the defaults still reach an account."""
        return RuleSet(
            {k: r for k, r in self.inform.items() if base.inform.get(k, InformRule(k, ())).inform != r.inform},
            {c: r for c, r in self.decide.items() if base.decide.get(c, DecideRule(c, ())).who != r.who},
            self.remind_after if self.remind_after != base.remind_after else None,
            self.report_after if self.report_after != base.report_after else None,
        )

    def as_mapping(self) -> dict[str, Any]:
        """The shape of the rules file's sections, to store the KA manager's rules with the account."""
        raw: dict[str, Any] = {
            "inform": [{"about": r.about, "inform": list(r.inform)} for r in self.inform.values()],
            "decide": [{"category": r.category.value, "who": list(r.who)} for r in self.decide.values()],
        }
        hours = {
            key: value.total_seconds() / 3600
            for key, value in (("remind_after_hours", self.remind_after), ("report_after_hours", self.report_after))
            if value is not None
        }
        if hours:
            raw["acknowledge"] = hours
        return raw


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
    DEFAULT_REMIND_AFTER,
    DEFAULT_REPORT_AFTER,
)
DEFAULTS: dict[Tier, RuleSet] = {
    Tier.KEY_ACCOUNT: RuleSet(
        _COMMON,
        {DecisionCategory.CONTRACT: DecideRule(DecisionCategory.CONTRACT, ("manager",))},
        DEFAULT_REMIND_AFTER,
        DEFAULT_REPORT_AFTER,
    ),
    Tier.INTERNATIONAL_KEY_ACCOUNT: _STRATEGIC,
    Tier.STRATEGIC_KEY_ACCOUNT: _STRATEGIC,
    Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT: _STRATEGIC,
}


def _targets(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise RulesFileError(f'{where}: list who, e.g. [manager, "function:finance"], or [] for nobody')
    targets = []
    for target in raw:
        if not isinstance(target, str) or not (target in TARGETS or target.startswith("function:")):
            raise RulesFileError(f"{where}: {target!r} is not manager, admin, team or function:<name>")
        targets.append(target.lower())
    return tuple(targets)


def parse_rule_set(raw: Any, where: str) -> RuleSet:
    """One section of rules (an account's or a tier's); RulesFileError says what is wrong and where."""
    if not isinstance(raw, Mapping):
        raise RulesFileError(f"{where}: expected inform and/or decide")
    inform: dict[str, InformRule] = {}
    for i, rule in enumerate(raw.get("inform") or []):
        here = f"{where}.inform[{i}]"
        about = rule.get("about") if isinstance(rule, Mapping) else None
        if about not in ABOUTS:
            raise RulesFileError(f"{here}: about must be one of {', '.join(ABOUTS)}")
        inform[about] = InformRule(about, _targets(rule.get("inform"), here))
    decide: dict[DecisionCategory, DecideRule] = {}
    for i, rule in enumerate(raw.get("decide") or []):
        here = f"{where}.decide[{i}]"
        category = rule.get("category") if isinstance(rule, Mapping) else None
        if category not in {c.value for c in DecisionCategory}:
            raise RulesFileError(f"{here}: category must be one of {', '.join(c.value for c in DecisionCategory)}")
        decide[DecisionCategory(category)] = DecideRule(DecisionCategory(category), _targets(rule.get("who"), here))
    acknowledge = raw.get("acknowledge") or {}
    if not isinstance(acknowledge, Mapping):
        raise RulesFileError(f"{where}.acknowledge: expected remind_after_hours and/or report_after_hours")
    remind, report = (_hours(acknowledge.get(key), f"{where}.acknowledge.{key}") for key in _HOURS_KEYS)
    return RuleSet(inform, decide, remind, report)


_HOURS_KEYS = ("remind_after_hours", "report_after_hours")


def _hours(raw: Any, where: str) -> dt.timedelta | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= HOURS_MAX:
        raise RulesFileError(f"{where}: a number of hours above 0 and at most {HOURS_MAX}")
    return dt.timedelta(hours=raw)


@dataclass(frozen=True)
class Rules:
    """The rules in force: defaults, the file's tiers, the file's accounts, then the KA manager's."""

    tiers: Mapping[Tier, RuleSet] = field(default_factory=dict)
    accounts: Mapping[str, RuleSet] = field(default_factory=dict)

    def for_account(self, account: Account) -> RuleSet:
        return self.managers_rules(account).over(self.without_managers_rules(account))

    def without_managers_rules(self, account: Account) -> RuleSet:
        """Defaults, tier and the file's account section: what the KA manager's rules build on."""
        rules = self.tiers.get(account.tier, RuleSet()).over(DEFAULTS[account.tier])
        return self.accounts.get(account.name.lower(), RuleSet()).over(rules)

    @staticmethod
    def managers_rules(account: Account) -> RuleSet:
        if not account.rules:
            return RuleSet()
        try:
            return parse_rule_set(account.rules, f"the rules of {account.name}")
        except RulesFileError:
            # Stored by the card after the same validation; unreadable only if edited by hand.
            return RuleSet()

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
            tiers[Tier(name)] = parse_rule_set(rules, f"tiers.{name}")
        accounts = {
            str(name).lower(): parse_rule_set(rules, f"accounts.{name}")
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


def _inform_targets(rules: Rules, account: Account, about: Iterable[str]) -> list[str]:
    rule_set = rules.for_account(account)
    return [t for key in about if key in rule_set.inform for t in rule_set.inform[key].inform]


def must_inform(rules: Rules, account: Account, about: Iterable[str]) -> list[Person]:
    """Everyone a rule names for any of the `about` keys (e.g. "decision" and "decision.pricing")."""
    return people_for(account, _inform_targets(rules, account, about))


def unfilled_targets(rules: Rules, account: Account, about: Iterable[str]) -> list[str]:
    """Targets a rule names that nobody on the team fills (e.g. no country lead): a gap to show."""
    targets = dict.fromkeys(_inform_targets(rules, account, about))
    return [t for t in targets if t != "team" and not people_for(account, [t])]


def concession_givers(rules: Rules, account: Account) -> list[Person]:
    """Whoever may give something away: those the rules let decide pricing (everyone, without a rule)."""
    rule = rules.for_account(account).decide.get(DecisionCategory.PRICING)
    return people_for(account, rule.who if rule is not None and rule.who else ("team",))


def may_decide(rules: Rules, account: Account, person: Person, category: DecisionCategory) -> bool:
    rule = rules.for_account(account).decide.get(category)
    if rule is None or not rule.who:
        return True
    return any(p.id == person.id for p in people_for(account, rule.who))


def may_change_rules(account: Account, person: Person | None) -> bool:
    """The account's KA managers (and its admins) own its communication rules (kam.access, MANAGE)."""
    return is_allowed(Principal(person), Act.MANAGE, Subject(account=account))


def change_account_rules(rules: Rules, account: Account, person: Person | None, wanted: RuleSet) -> None:
    """Store the KA manager's rules for the account; they apply to what is logged from now on.

    Only what differs from the tier's rules is kept. Raises NotAllowed for anyone but the
    account's KA managers and admins.
    """
    if not may_change_rules(account, person):
        raise NotAllowed()
    own = wanted.beyond(rules.without_managers_rules(account))
    account.rules = own.as_mapping() if own.inform or own.decide or own.remind_after or own.report_after else None
