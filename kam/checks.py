"""The three failures of key account management (KAM.md), each caught by a check the team can see.

1. The customer agreed to pay for a service: the KA manager and everyone who may
   give concessions must know before anyone offers it free; a later concession
   on the same topic is flagged.
2. A second framework agreement opened while one is open: both owners and the
   KA manager are told.
3. A country's price action for all customers on countries where a key account
   has sites: the KA manager is told it is a global price risk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam import matching
from kam.accounts import managers_of
from kam.acknowledgements import MustKnow
from kam.catalogue import Catalogue
from kam.groups import group_of, groups
from kam.matching import Why
from kam.models import (
    Account,
    Contact,
    Decision,
    DecisionCategory,
    Flag,
    FlagKind,
    ItemKind,
    OutboxMessage,
    Person,
    PriceAction,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.rules import Rules, concession_givers


def concession_words(text: str) -> str | None:
    """The words that make `text` a concession ("free of charge", "kostenlos", "sans frais"), as written."""
    return matching.concession_words(text)


def is_framework_text(text: str) -> bool:
    return matching.framework_words(text) is not None


def concession_conflict(
    catalogue: Catalogue,
    paid: str,
    paid_service: str | None,
    concession: str,
    concession_service: str | None,
    *,
    ticked: bool,
) -> Why | None:
    """Failure 1 on two texts: whether the concession (ticked on its form, or free by its words) gives away what
    the customer agreed to pay for, and why."""
    if gives_away(concession, ticked=ticked, picked=concession_service) is None or matching.only_discount(concession):
        return None
    return matching.same_topic(
        matching.read_side(catalogue, paid, paid_service),
        matching.read_side(catalogue, concession, concession_service, given=True),
    )


@dataclass(frozen=True)
class Logged:
    """The item a check looks at."""

    account: Account
    kind: ItemKind
    item_id: int
    author: Person


def _flag(
    logged: Logged,
    kind: FlagKind,
    topic: str = "",
    related: Flag | None = None,
    reason: dict[str, Any] | None = None,
) -> Flag:
    return Flag(
        account_id=logged.account.id,
        kind=kind,
        item_kind=logged.kind,
        item_id=logged.item_id,
        owner_id=logged.author.id,
        topic=topic[:300],
        related=related,
        reason={k: v for k, v in (reason or {}).items() if v} or None,
    )


async def _open_flags(session: AsyncSession, account_ids: Iterable[int], kind: FlagKind) -> list[Flag]:
    query = select(Flag).where(Flag.account_id.in_(list(account_ids)), Flag.kind == kind, Flag.closed_at.is_(None))
    return list(await session.scalars(query.order_by(Flag.id)))


def _tell(people: Iterable[Person], reason: str) -> list[MustKnow]:
    return [MustKnow(p, reason) for p in people]


def _service_of(catalogue: Catalogue, picked: str | None) -> str | None:
    return picked if catalogue.get(picked) is not None else None


async def paid_service_agreed(
    session: AsyncSession, rules: Rules, catalogue: Catalogue, logged: Logged, service: str, picked: str | None = None
) -> list[MustKnow]:
    """Failure 1, first half: who may give it away must hear that the customer agreed to pay. `picked`: the
    catalogue's service chosen on the form (its name is the topic when nothing was typed)."""
    picked = _service_of(catalogue, picked)
    named = catalogue.get(picked)
    topic = service or (named.name("en") if named else "")
    session.add(_flag(logged, FlagKind.PAID_SERVICE, topic, reason={"service": picked}))
    return _tell([*managers_of(logged.account), *concession_givers(rules, logged.account)], "paid_service")


def gives_away(text: str, *, ticked: bool, picked: str | None) -> str | None:
    """Whether a decision is a concession, and how we know: its words ("kostenlos"), or "ticked" on the form (a
    service picked as the concession's is ticking it)."""
    return concession_words(text) or ("ticked" if ticked or picked else None)


async def concession_given(
    session: AsyncSession, catalogue: Catalogue, logged: Logged, text: str, how: str, picked: str | None = None
) -> list[MustKnow]:
    """Failure 1, second half: a concession on what the customer agreed to pay for (`how`: from gives_away), on
    this account or another of its customer group (the group agreed to pay; a sister entity gives it away). A
    price reduction ("5 % Rabatt") is noted as a concession but gives no paid service away."""
    picked = _service_of(catalogue, picked)
    session.add(_flag(logged, FlagKind.CONCESSION, text, reason={"service": picked, "given": how}))
    if matching.only_discount(text):
        return []
    given = matching.read_side(catalogue, text, picked, given=True)
    group = {a.id: a for a in await group_of(session, logged.account)}
    must_know: list[MustKnow] = []
    for paid in await _open_flags(session, group, FlagKind.PAID_SERVICE):
        why = matching.same_topic(matching.read_side(catalogue, paid.topic, _reason(paid).get("service")), given)
        if why is None:
            continue
        named = catalogue.get(why.service)
        elsewhere = group[paid.account_id] if paid.account_id != logged.account.id else None
        reason = {
            **why.as_json(),
            "service_names": dict(named.names) if named else None,
            "given": how,
            "group": bool(elsewhere),
        }
        must_know += await _clash(session, logged, FlagKind.FREE_AFTER_PAID, paid, elsewhere, reason)
    return must_know


_NOTICES = {FlagKind.FREE_AFTER_PAID: "group_paid_service", FlagKind.PARALLEL_FRAMEWORK: "group_framework"}


async def _clash(
    session: AsyncSession,
    logged: Logged,
    kind: FlagKind,
    earlier: Flag,
    elsewhere: Account | None,
    reason: dict[str, Any],
) -> list[MustKnow]:
    """A conflict of the logged item with an `earlier` one: this account's KA managers must acknowledge it, and
    the earlier item's owner too when it is on this account. On another account of the customer group
    (`elsewhere`) its owner and that account's KA managers get their own item, with the clash, in their 1:1
    chat (they may not read this account's)."""
    clash = _flag(logged, kind, earlier.topic, related=earlier, reason=reason)
    session.add(clash)
    must_know = _tell(managers_of(logged.account), kind.value)
    if elsewhere is None:
        return must_know + _tell([earlier.owner], kind.value)
    await session.flush()
    told = {p.id: p for p in [earlier.owner, *managers_of(elsewhere)] if p.id != logged.author.id}
    for person in told.values():
        tell_about_conflict(session, person, elsewhere, (earlier.item_kind, earlier.item_id), clash, _NOTICES[kind])
    return must_know


def _reason(flag: Flag | None) -> dict[str, Any]:
    return dict(flag.reason or {}) if flag is not None else {}


async def framework_agreement_opened(
    session: AsyncSession, logged: Logged, topic: str, words: str | None
) -> list[MustKnow]:
    """Failure 2: another framework agreement is open on the account or on another account of its customer
    group, owned by someone else. `words`: what made it one ("Rahmenvertrag"; None: ticked on the form).

    This item's KA managers and the other agreement's owner (on this account) must acknowledge it here;
    on another account of the group, its owner and KA managers hear of it there, on their own item."""
    group = await group_of(session, logged.account)
    by_id = {a.id: a for a in group}
    open_ones = await _open_flags(session, by_id, FlagKind.FRAMEWORK_AGREEMENT)
    others = [f for f in open_ones if f.owner_id != logged.author.id]
    session.add(_flag(logged, FlagKind.FRAMEWORK_AGREEMENT, topic, reason={"words": words}))
    must_know: list[MustKnow] = []
    for other in others:
        elsewhere = by_id[other.account_id] if other.account_id != logged.account.id else None
        reason = {"words": words, "other_words": _reason(other).get("words"), "group": bool(elsewhere)}
        must_know += await _clash(session, logged, FlagKind.PARALLEL_FRAMEWORK, other, elsewhere, reason)
    return must_know


def tell_about_conflict(
    session: AsyncSession, person: Person, account: Account, item: tuple[ItemKind, int], flag: Flag, why: str
) -> None:
    """A 1:1 card to `person`: `item` of `account` (theirs), with the conflict `flag` found on it or against it."""
    detail = {"item_kind": item[0].value, "item_id": item[1], "flag_id": flag.id, "why": why}
    session.add(
        OutboxMessage(kind=OutboxKind.CONFLICT_NOTICE, subject_id=person.id, account_id=account.id, detail=detail)
    )


def end_framework_agreement(flag: Flag) -> None:
    """A framework agreement has ended (its owner or a KA manager said so: kam.access, END_AGREEMENT);
    later ones no longer clash with it."""
    if flag.closed_at is None:
        flag.closed_at = utcnow()


DISMISS_REASON_MAX = 500
CONFLICT_KINDS = (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK, FlagKind.PRICE_RISK)


async def dismiss_conflict(session: AsyncSession, flag: Flag, account: Account, person: Person, reason: str) -> None:
    """Someone the conflict names (kam.access, DISMISS_CONFLICT) says it is none, and why. It stays on the item's
    card with who and why, and counts (dismissed_conflicts); the KA managers who did not say so hear of it.
    Saying so twice keeps the first answer."""
    if flag.dismissed_at is not None:
        return
    flag.dismissed_at = utcnow()
    flag.dismissed_by = person
    flag.dismissed_reason = reason[:DISMISS_REASON_MAX]
    await session.flush()
    # Each account the conflict involves (`account`, named with it, is one of them), with its own item.
    items = {flag.account_id: (flag.item_kind, flag.item_id)}
    if flag.related is not None:
        items.setdefault(flag.related.account_id, (flag.related.item_kind, flag.related.item_id))
    for account_id, item in items.items():
        each = account if account.id == account_id else await session.get(Account, account_id)
        if each is None:
            continue
        for manager in managers_of(each):
            if manager.id != person.id:
                tell_about_conflict(session, manager, each, item, flag, "dismissed")


async def dismissed_conflicts(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, int]:
    """How many conflicts were marked "not a conflict", per account (the steering figures report it)."""
    rows = await session.execute(
        select(Flag.account_id, func.count())
        .where(Flag.account_id.in_(list(account_ids)), Flag.kind.in_(CONFLICT_KINDS), Flag.dismissed_at.is_not(None))
        .group_by(Flag.account_id)
    )
    return {account_id: count for account_id, count in rows.all()}


async def price_risks(session: AsyncSession, action: PriceAction, author: Person) -> dict[Account, list[MustKnow]]:
    """Failure 3: every active key account with sites in the action's countries, or whose customer group has
    (a global price agreed with the group is at risk from any member's country), and whom to tell there."""
    countries = {c.upper() for c in action.countries}
    accounts = list(await session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.name)))
    affected: dict[Account, list[MustKnow]] = {}
    for members in groups(accounts).values():
        where = {a.id: sorted(countries & {c.upper() for c in a.countries or []}) for a in members}
        if not any(where.values()):
            continue
        for account in members:
            # The sister accounts whose sites put this one at risk: a confidential one is not named, nor its countries.
            others = [a for a in members if a.id != account.id and where[a.id]]
            shown = [a for a in others if not a.confidential]
            reason = {
                "countries": where[account.id],
                "via": [a.name for a in shown],
                "via_hidden": len(others) - len(shown),
                "via_countries": sorted({c for a in shown for c in where[a.id]}),
            }
            logged = Logged(account, ItemKind.PRICE_ACTION, action.id, author)
            session.add(_flag(logged, FlagKind.PRICE_RISK, ", ".join(where[account.id]), reason=reason))
            affected[account] = _tell(managers_of(account), "price_risk")
    return affected


Item = tuple[ItemKind, int]
_CONFLICTS = (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK)


@dataclass(frozen=True)
class Finding:
    """One flag on an item's card, with what the card must say about the items it involves.

    Dates are when something was agreed (the contact's meeting, the decision's date, the price
    action's start), not when it was logged. A conflict names the other item: for a conflict
    found on this item, the earlier one it clashes with; for one `found_later`, the later item
    that clashes with this one (whose card it is on too). `other_agreement` is the other
    framework agreement of a clash, which its owner or a KA manager may end from this card.
    A framework agreement's topic can be what a confidential contact was about (its summary):
    `topic_confidential` / `other_topic_confidential` say so, and cards do not show it.
    `other_account`: the other item's account when it is another of the customer group ("" when that account is
    confidential: its name and topic are not shown to another team).
    """

    flag: Flag
    agreed_on: dt.date | None
    found_later: bool = False
    other_topic: str = ""
    other_owner: str = ""
    other_agreed_on: dt.date | None = None
    other_agreement: Flag | None = None
    topic_confidential: bool = False
    other_topic_confidential: bool = False
    other_account: str | None = None
    item_confidential: bool = False  # the item whose card it is: a confidential contact

    @property
    def kind(self) -> FlagKind:
        return self.flag.kind


def _item(flag: Flag) -> Item:
    return flag.item_kind, flag.item_id


@dataclass(frozen=True)
class _Items:
    """When each item was agreed (a contact's meeting, a decision's date, a price action's start), and which
    are confidential contacts."""

    agreed_on: dict[Item, dt.date]
    confidential: set[Item]

    def summary_is_topic(self, flag: Flag | None) -> bool:
        """Whether `flag`'s topic comes from a confidential contact (its summary as a framework agreement's topic,
        the service the customer agreed to pay for): shown nowhere, as the contact's details are not."""
        return flag is not None and _item(flag) in self.confidential


async def _items(session: AsyncSession, items: set[Item]) -> _Items:
    found = _Items({}, set())
    contact_ids = sorted(i for k, i in items if k == ItemKind.CONTACT)
    if contact_ids:
        rows = await session.execute(
            select(Contact.id, Contact.met_on, Contact.confidential).where(Contact.id.in_(contact_ids))
        )
        for row_id, met_on, confidential in rows:
            found.agreed_on[(ItemKind.CONTACT, row_id)] = met_on
            if confidential:
                found.confidential.add((ItemKind.CONTACT, row_id))
    for kind, model, column in (
        (ItemKind.DECISION, Decision, Decision.effective_on),
        (ItemKind.PRICE_ACTION, PriceAction, PriceAction.starts_on),
    ):
        ids = sorted(i for k, i in items if k == kind)
        if ids:
            dated = await session.execute(select(model.id, column).where(model.id.in_(ids)))
            found.agreed_on.update({(kind, row_id): day for row_id, day in dated})
    return found


async def _decision_titles(session: AsyncSession, items: set[Item]) -> dict[Item, str]:
    ids = {i for k, i in items if k == ItemKind.DECISION}
    if not ids:
        return {}
    rows = await session.execute(select(Decision.id, Decision.title).where(Decision.id.in_(sorted(ids))))
    return {(ItemKind.DECISION, row_id): title for row_id, title in rows}


async def flags_of(session: AsyncSession, account_id: int, item: Item) -> list[Finding]:
    """What the checks found about an item: its own flags, then the conflicts later items have with it."""
    query = select(Flag).where(Flag.account_id == account_id, Flag.item_kind == item[0], Flag.item_id == item[1])
    own = list(await session.scalars(query.order_by(Flag.id)))
    if not own:
        return []
    # Later conflicts with this item's flags, on this account or (a framework agreement) on another of its group.
    later = list(
        await session.scalars(
            select(Flag).where(Flag.related_id.in_([f.id for f in own]), Flag.kind.in_(_CONFLICTS)).order_by(Flag.id)
        )
    )
    later_items = {_item(f) for f in later}
    # The later items' own framework agreements: what a later clash is about, and what may be ended.
    agreements: dict[tuple[int, Item], Flag] = {}
    if any(f.kind == FlagKind.PARALLEL_FRAMEWORK for f in later):
        for opened in await session.scalars(
            select(Flag).where(
                Flag.account_id.in_({f.account_id for f in later}),
                Flag.kind == FlagKind.FRAMEWORK_AGREEMENT,
                Flag.item_id.in_(sorted({i for _, i in later_items})),
            )
        ):
            agreements[(opened.account_id, _item(opened))] = opened
    related = {_item(f.related) for f in own if f.related is not None}
    known = await _items(session, {item} | related | later_items)
    elsewhere = {f.account_id for f in later} | {f.related.account_id for f in own if f.related is not None}
    others = await _other_accounts(session, elsewhere - {account_id})
    titles = await _decision_titles(session, later_items)
    findings = [_forward(flag, known, others) for flag in own]
    for flag in later:
        agreement = agreements.get((flag.account_id, _item(flag))) if flag.kind == FlagKind.PARALLEL_FRAMEWORK else None
        hidden = flag.account_id in others and others[flag.account_id] is None
        findings.append(
            Finding(
                flag,
                known.agreed_on.get(item),
                found_later=True,
                other_topic=agreement.topic if agreement else titles.get(_item(flag), ""),
                other_owner=flag.owner.name,
                other_agreed_on=known.agreed_on.get(_item(flag)),
                other_agreement=agreement if flag.account_id == account_id else None,
                other_topic_confidential=known.summary_is_topic(agreement) or hidden,
                other_account=_account_name(others, flag.account_id),
                item_confidential=item in known.confidential,
            )
        )
    return findings


async def _other_accounts(session: AsyncSession, account_ids: set[int]) -> dict[int, str | None]:
    """Other accounts of a customer group that a card names: their names, None for a confidential one (kam.access:
    named only to its own team)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(Account.id, Account.name, Account.confidential).where(Account.id.in_(account_ids))
    )
    return {row_id: None if confidential else name for row_id, name, confidential in rows}


def _account_name(others: dict[int, str | None], account_id: int) -> str | None:
    if account_id not in others:
        return None
    return others[account_id] or ""


def _forward(flag: Flag, known: _Items, others: dict[int, str | None]) -> Finding:
    """A flag of the item itself; a conflict names the earlier item it clashes with (a parallel framework
    agreement's topic is the earlier agreement's)."""
    other = flag.related
    mine = known.summary_is_topic(flag)
    if other is None:
        return Finding(flag, known.agreed_on.get(_item(flag)), topic_confidential=mine, item_confidential=mine)
    hidden = other.account_id in others and others[other.account_id] is None
    return Finding(
        flag,
        known.agreed_on.get(_item(flag)),
        other_topic=other.topic,
        other_owner=other.owner.name,
        other_agreed_on=known.agreed_on.get(_item(other)),
        other_agreement=other
        if other.kind == FlagKind.FRAMEWORK_AGREEMENT and other.account_id == flag.account_id
        else None,
        # A conflict's own topic is the earlier item's (the paid service, the open agreement).
        topic_confidential=known.summary_is_topic(flag) or known.summary_is_topic(other) or hidden,
        other_topic_confidential=known.summary_is_topic(other) or hidden,
        other_account=_account_name(others, other.account_id),
        item_confidential=mine,
    )


def framework_decision_words(category: DecisionCategory, text: str) -> str | None:
    """The words that make a contract decision a framework agreement; None for any other decision."""
    return matching.framework_words(text) if category == DecisionCategory.CONTRACT else None
