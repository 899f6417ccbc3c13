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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam import matching
from kam.accounts import managers_of
from kam.acknowledgements import MustKnow
from kam.catalogue import Catalogue
from kam.matching import Why
from kam.models import (
    Account,
    Contact,
    Decision,
    DecisionCategory,
    Flag,
    FlagKind,
    ItemKind,
    Person,
    PriceAction,
    utcnow,
)
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
    if matching.only_discount(concession):
        return None
    if not ticked and concession_service is None and concession_words(concession) is None:
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


def _flag(logged: Logged, kind: FlagKind, topic: str = "", related: Flag | None = None) -> Flag:
    return Flag(
        account_id=logged.account.id,
        kind=kind,
        item_kind=logged.kind,
        item_id=logged.item_id,
        owner_id=logged.author.id,
        topic=topic[:300],
        related=related,
    )


async def _open_flags(session: AsyncSession, account_id: int, kind: FlagKind) -> list[Flag]:
    query = select(Flag).where(Flag.account_id == account_id, Flag.kind == kind, Flag.closed_at.is_(None))
    return list(await session.scalars(query.order_by(Flag.id)))


def _tell(people: Iterable[Person], reason: str) -> list[MustKnow]:
    return [MustKnow(p, reason) for p in people]


async def paid_service_agreed(session: AsyncSession, rules: Rules, logged: Logged, service: str) -> list[MustKnow]:
    """Failure 1, first half: who may give it away must hear that the customer agreed to pay."""
    session.add(_flag(logged, FlagKind.PAID_SERVICE, service))
    return _tell([*managers_of(logged.account), *concession_givers(rules, logged.account)], "paid_service")


async def concession_given(session: AsyncSession, logged: Logged, text: str) -> list[MustKnow]:
    """Failure 1, second half: a concession on a topic the customer agreed to pay for."""
    session.add(_flag(logged, FlagKind.CONCESSION, text))
    must_know: list[MustKnow] = []
    for paid in await _open_flags(session, logged.account.id, FlagKind.PAID_SERVICE):
        if same_topic(paid.topic, text):
            session.add(_flag(logged, FlagKind.FREE_AFTER_PAID, paid.topic, related=paid))
            must_know += _tell([*managers_of(logged.account), paid.owner], "free_after_paid")
    return must_know


async def framework_agreement_opened(session: AsyncSession, logged: Logged, topic: str) -> list[MustKnow]:
    """Failure 2: another framework agreement is open on the account, owned by someone else."""
    open_ones = await _open_flags(session, logged.account.id, FlagKind.FRAMEWORK_AGREEMENT)
    others = [f for f in open_ones if f.owner_id != logged.author.id]
    session.add(_flag(logged, FlagKind.FRAMEWORK_AGREEMENT, topic))
    must_know: list[MustKnow] = []
    for other in others:
        session.add(_flag(logged, FlagKind.PARALLEL_FRAMEWORK, other.topic, related=other))
        must_know += _tell([*managers_of(logged.account), other.owner], "parallel_framework")
    return must_know


def end_framework_agreement(flag: Flag) -> None:
    """A framework agreement has ended (its owner or a KA manager said so: kam.access, END_AGREEMENT);
    later ones no longer clash with it."""
    if flag.closed_at is None:
        flag.closed_at = utcnow()


async def price_risks(session: AsyncSession, action: PriceAction, author: Person) -> dict[Account, list[MustKnow]]:
    """Failure 3: every active key account with sites in the action's countries, and whom to tell there."""
    countries = {c.upper() for c in action.countries}
    accounts = await session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.name))
    affected: dict[Account, list[MustKnow]] = {}
    for account in accounts:
        overlap = sorted(countries & {c.upper() for c in account.countries or []})
        if not overlap:
            continue
        logged = Logged(account, ItemKind.PRICE_ACTION, action.id, author)
        session.add(_flag(logged, FlagKind.PRICE_RISK, ", ".join(overlap)))
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
    later = list(
        await session.scalars(
            select(Flag)
            .where(Flag.account_id == account_id, Flag.related_id.in_([f.id for f in own]), Flag.kind.in_(_CONFLICTS))
            .order_by(Flag.id)
        )
    )
    later_items = {_item(f) for f in later}
    # The later items' own framework agreements: what a later clash is about, and what may be ended.
    agreements: dict[Item, Flag] = {}
    if any(f.kind == FlagKind.PARALLEL_FRAMEWORK for f in later):
        for opened in await session.scalars(
            select(Flag).where(
                Flag.account_id == account_id,
                Flag.kind == FlagKind.FRAMEWORK_AGREEMENT,
                Flag.item_id.in_(sorted({i for _, i in later_items})),
            )
        ):
            if _item(opened) in later_items:
                agreements[_item(opened)] = opened
    related = {_item(f.related) for f in own if f.related is not None}
    known = await _items(session, {item} | related | later_items)
    titles = await _decision_titles(session, later_items)
    findings = [_forward(flag, known) for flag in own]
    for flag in later:
        agreement = agreements.get(_item(flag)) if flag.kind == FlagKind.PARALLEL_FRAMEWORK else None
        findings.append(
            Finding(
                flag,
                known.agreed_on.get(item),
                found_later=True,
                other_topic=agreement.topic if agreement else titles.get(_item(flag), ""),
                other_owner=flag.owner.name,
                other_agreed_on=known.agreed_on.get(_item(flag)),
                other_agreement=agreement,
                other_topic_confidential=known.summary_is_topic(agreement),
            )
        )
    return findings


def _forward(flag: Flag, known: _Items) -> Finding:
    """A flag of the item itself; a conflict names the earlier item it clashes with (a parallel framework
    agreement's topic is the earlier agreement's)."""
    other = flag.related
    if other is None:
        return Finding(flag, known.agreed_on.get(_item(flag)), topic_confidential=known.summary_is_topic(flag))
    return Finding(
        flag,
        known.agreed_on.get(_item(flag)),
        other_topic=other.topic,
        other_owner=other.owner.name,
        other_agreed_on=known.agreed_on.get(_item(other)),
        other_agreement=other if other.kind == FlagKind.FRAMEWORK_AGREEMENT else None,
        # A conflict's own topic is the earlier item's (the paid service, the open agreement).
        topic_confidential=known.summary_is_topic(flag) or known.summary_is_topic(other),
        other_topic_confidential=known.summary_is_topic(other),
    )


def is_framework_decision(category: DecisionCategory, text: str) -> bool:
    return category == DecisionCategory.CONTRACT and mentions_framework_agreement(text)
