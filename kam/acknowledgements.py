"""Acknowledgements: whoever must know an item takes note of it, is reminded once, else the KA manager hears.

Who must know is decided when the item is logged (rules, checks), and stored;
a later change of the rules applies to later items only, so that nobody's open
duty appears or disappears without anyone having asked for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kam.accounts import managers_of, role_of
from kam.errors import Refused
from kam.models import Account, Acknowledgement, ItemKind, OutboxMessage, Person, utcnow
from kam.outbox import OutboxKind
from kam.rules import DEFAULT_REMIND_AFTER, DEFAULT_REPORT_AFTER, Rules, RuleSet, must_inform
from kam.storage import insert_rows


@dataclass(frozen=True)
class MustKnow:
    """One person who must know an item, and why (a rule's `about`, or a check's finding)."""

    person: Person
    reason: str


def rule_reasons(rules: Rules, account: Account, abouts: Iterable[str]) -> list[MustKnow]:
    """Everyone the rules name for each `about` key, with that key as their reason."""
    return [MustKnow(p, f"rule:{about}") for about in abouts for p in must_inform(rules, account, [about])]


async def ask_to_acknowledge(
    session: AsyncSession,
    account: Account,
    item: tuple[ItemKind, int],
    author: Person | None,
    must_know: Sequence[MustKnow],
    rules: RuleSet,
    *,
    remind_at: dt.datetime | None = None,
    announce: Sequence[OutboxMessage] = (),
) -> list[Acknowledgement]:
    """One acknowledgement and one 1:1 card per person who must know; the author knows already.

    The reminder comes `remind_after` the rules set, or at `remind_at` (a review's due date).
    `announce`: the item's own outbox rows (its channel post), queued first, in the same INSERT
    as the cards. Two statements in all, whatever the number of people; the acknowledgements
    returned are for reading (the card that lists them), not for changing.
    """
    now = utcnow()
    remind_after = rules.remind_after or DEFAULT_REMIND_AFTER
    report_after = rules.report_after or DEFAULT_REPORT_AFTER
    reminding = remind_at or now + remind_after
    reasons: dict[int, list[str]] = {}
    people: dict[int, Person] = {}
    for entry in must_know:
        if author is not None and entry.person.id == author.id:
            continue
        people[entry.person.id] = entry.person
        if entry.reason not in reasons.setdefault(entry.person.id, []):
            reasons[entry.person.id].append(entry.reason)
    acknowledgements = [
        Acknowledgement(
            account_id=account.id,
            item_kind=item[0],
            item_id=item[1],
            person_id=person_id,
            person=people[person_id],
            required=True,
            reasons=reasons[person_id],
            created_at=now,
            remind_at=reminding,
            report_at=reminding + report_after,
        )
        for person_id in sorted(people, key=lambda i: people[i].name)
    ]
    await insert_rows(session, acknowledgements)
    cards = [
        OutboxMessage(kind=OutboxKind.ACK_REQUEST, subject_id=ack.id, account_id=account.id) for ack in acknowledgements
    ]
    await insert_rows(session, [*announce, *cards], ids=False)
    return acknowledgements


async def acknowledgements_of(
    session: AsyncSession, account_id: int, item: tuple[ItemKind, int]
) -> list[Acknowledgement]:
    query = select(Acknowledgement).where(
        Acknowledgement.account_id == account_id,
        Acknowledgement.item_kind == item[0],
        Acknowledgement.item_id == item[1],
    )
    return sorted(await session.scalars(query), key=lambda a: (not a.required, a.person.name))


async def acknowledge(
    session: AsyncSession, account: Account, item: tuple[ItemKind, int], person: Person | None
) -> Acknowledgement:
    """Note that `person` has taken note; the account team may acknowledge what they were not asked to.

    Raises Refused for anyone else. Acknowledging twice keeps the first time.
    """
    query = select(Acknowledgement).where(
        Acknowledgement.account_id == account.id,
        Acknowledgement.item_kind == item[0],
        Acknowledgement.item_id == item[1],
        Acknowledgement.person_id == (person.id if person else -1),
    )
    ack = await session.scalar(query.with_for_update(of=Acknowledgement))
    if ack is None:
        if person is None or role_of(account, person) is None:
            raise Refused()
        ack = Acknowledgement(
            account_id=account.id, item_kind=item[0], item_id=item[1], person_id=person.id, required=False, reasons=[]
        )
        session.add(ack)
    if ack.acknowledged_at is None:
        ack.acknowledged_at = utcnow()
    await session.flush()
    return ack


async def get_acknowledgement(session: AsyncSession, ack_id: int) -> Acknowledgement | None:
    return await session.get(Acknowledgement, ack_id)


async def _due(
    session: AsyncSession,
    when: InstrumentedAttribute[dt.datetime | None],
    done: InstrumentedAttribute[dt.datetime | None],
    now: dt.datetime,
) -> list[Acknowledgement]:
    query = (
        select(Acknowledgement)
        .where(
            Acknowledgement.required.is_(True),
            Acknowledgement.acknowledged_at.is_(None),
            done.is_(None),
            when <= now,
        )
        .order_by(Acknowledgement.id)
        .limit(500)
        .with_for_update(skip_locked=True, of=Acknowledgement)
    )
    return list(await session.scalars(query))


async def schedule_reminders(
    session: AsyncSession, accounts: dict[int, Account], now: dt.datetime | None = None
) -> int:
    """Remind once whoever has not acknowledged in time; later, tell the KA managers who still has not.

    Rows are claimed with SKIP LOCKED, so that of several instances exactly one sends each.
    `accounts` caches the accounts looked up.
    """
    now = now or utcnow()
    queued = 0
    for ack in await _due(session, Acknowledgement.remind_at, Acknowledgement.reminded_at, now):
        ack.reminded_at = now
        session.add(OutboxMessage(kind=OutboxKind.ACK_REMINDER, subject_id=ack.id, account_id=ack.account_id))
        queued += 1
    overdue = [
        a for a in await _due(session, Acknowledgement.report_at, Acknowledgement.reported_at, now) if a.reminded_at
    ]
    for (account_id, kind, item_id), group in groupby(
        sorted(overdue, key=lambda a: (a.account_id, a.item_kind, a.item_id)),
        key=lambda a: (a.account_id, a.item_kind, a.item_id),
    ):
        late = list(group)
        for ack in late:
            ack.reported_at = now
        account = accounts.get(account_id) or await session.get(Account, account_id)
        if account is None:
            continue
        accounts[account_id] = account
        detail = {"item_kind": kind.value, "item_id": item_id, "people": [a.person.name for a in late]}
        for manager in managers_of(account):
            session.add(
                OutboxMessage(kind=OutboxKind.ACK_OVERDUE, subject_id=manager.id, account_id=account_id, detail=detail)
            )
            queued += 1
    return queued


async def stop_reminders(session: AsyncSession, account_id: int, item: tuple[ItemKind, int]) -> None:
    """The item is settled (a review closed): nobody is reminded of it or reported any more."""
    now = utcnow()
    for ack in await acknowledgements_of(session, account_id, item):
        ack.reminded_at = ack.reminded_at or now
        ack.reported_at = ack.reported_at or now


async def remind_now(session: AsyncSession, account_id: int, item: tuple[ItemKind, int]) -> list[str]:
    """Remind at once whoever has not acknowledged and was not reminded yet; their names."""
    now = utcnow()
    reminded = []
    for ack in await acknowledgements_of(session, account_id, item):
        if ack.required and ack.acknowledged_at is None and ack.reminded_at is None:
            ack.reminded_at = now
            session.add(OutboxMessage(kind=OutboxKind.ACK_REMINDER, subject_id=ack.id, account_id=account_id))
            reminded.append(ack.person.name)
    return reminded
