"""Acknowledgements: whoever must know an item takes note of it, is reminded once, else the KA manager hears.

Who must know is decided when the item is logged (rules, checks), and stored;
a later change of the rules applies to later items only, so that nobody's open
duty appears or disappears without anyone having asked for it.

Requests to one person that come within minutes of each other go as one card: each request
queues an outbox row of its own, and the row sent first carries everything its person was
asked meanwhile (`gather_requests`); the others find nothing left to carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kam.access import ACKNOWLEDGEABLE
from kam.accounts import managers_of, role_of
from kam.errors import Refused
from kam.models import Account, Acknowledgement, ItemKind, OutboxMessage, Person, aware, utcnow
from kam.outbox import OutboxKind, defer
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
    """One acknowledgement and one request (an outbox row) per person who must know; the author knows already.

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


BATCH_MAX = 10  # requests on one card (its size: cards/fit.py); more go on the next card, sent right after it
CARRIED = "acknowledgements"  # the detail of a request row once claimed: the ids of the requests its card carries


def carried(message: OutboxMessage) -> list[int] | None:
    """The requests a request row's card carries; None while it was never claimed, and for a review's request
    (answered by updating one's plan items: a card of its own)."""
    ids = (message.detail or {}).get(CARRIED)
    return [int(i) for i in ids] if isinstance(ids, list) else None


async def gather_requests(
    session: AsyncSession, rows: Sequence[OutboxMessage], window: dt.timedelta, now: dt.datetime | None = None
) -> set[dt.datetime]:
    """Of the outbox rows just claimed, the requests to acknowledge: each person gets one card for what they
    were asked within `window` of the first request that waits for them, and no request goes on two cards.

    A row claimed before that moment goes back until then (the moments are returned, so that the sender
    wakes up for them). A row claimed after it carries every request of its person that is still open
    and on no card yet, at most BATCH_MAX (the rest ride the next row: each request queued one), and
    they are marked requested in this transaction, the claim's: another sender waits for these rows'
    locks and then finds them taken. What a row carries stays with it, so that a retry, or another
    sender after a crash, sends the same card again rather than losing it.
    """
    now = now or utcnow()
    asking = [r for r in rows if r.kind == OutboxKind.ACK_REQUEST and carried(r) is None]
    if not asking:
        return set()
    subjects = await session.execute(
        select(Acknowledgement.id, Acknowledgement.person_id).where(
            Acknowledgement.id.in_({r.subject_id for r in asking}), Acknowledgement.item_kind.in_(ACKNOWLEDGEABLE)
        )
    )
    person_of: dict[int, int] = {ack_id: person_id for ack_id, person_id in subjects.all()}
    if not person_of:
        return set()  # reviews' requests, or requests whose item is gone: each renders on its own
    open_requests = (
        select(Acknowledgement)
        .where(
            Acknowledgement.person_id.in_(set(person_of.values())),
            Acknowledgement.required.is_(True),
            Acknowledgement.acknowledged_at.is_(None),
            Acknowledgement.requested_at.is_(None),
            Acknowledgement.item_kind.in_(ACKNOWLEDGEABLE),
        )
        .order_by(Acknowledgement.created_at, Acknowledgement.id)
        .with_for_update(of=Acknowledgement)
    )
    waiting: dict[int, list[Acknowledgement]] = {}
    for ack in await session.scalars(open_requests):
        waiting.setdefault(ack.person_id, []).append(ack)
    wake_at: set[dt.datetime] = set()
    for row in sorted(asking, key=lambda r: r.id):
        person_id = person_of.get(row.subject_id)
        if person_id is None:
            continue
        theirs = waiting.get(person_id, [])
        if theirs and now < aware(theirs[0].created_at) + window:
            until = aware(theirs[0].created_at) + window
            defer(row, until)
            wake_at.add(until)
            continue
        on_card, waiting[person_id] = theirs[:BATCH_MAX], theirs[BATCH_MAX:]
        for ack in on_card:
            ack.requested_at = now
        row.detail = {**(row.detail or {}), CARRIED: [ack.id for ack in on_card]}
    return wake_at


async def requests_on_card(
    session: AsyncSession, card_row_id: int, person: Person | None
) -> list[tuple[Account, Acknowledgement]]:
    """What the card of a request row (`card_row_id`) asked of `person`, acknowledged since or not, on the accounts
    whose team they are still on, in the order they were asked. Nothing for anyone else: a card's requests
    are its person's own."""
    row = await session.get(OutboxMessage, card_row_id) if person is not None else None
    ids = carried(row) if row is not None and row.kind == OutboxKind.ACK_REQUEST else None
    if person is None or not ids:
        return []
    query = (
        select(Acknowledgement)
        .where(Acknowledgement.id.in_(ids), Acknowledgement.person_id == person.id)
        .order_by(Acknowledgement.created_at, Acknowledgement.id)
    )
    requests = list(await session.scalars(query))
    wanted = {a.account_id for a in requests}
    accounts = {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(wanted)))}
    return [
        (accounts[a.account_id], a)
        for a in requests
        if a.account_id in accounts and role_of(accounts[a.account_id], person) is not None
    ]


async def person_of_card(session: AsyncSession, card_row: OutboxMessage) -> Person | None:
    """Whom a request row's card goes to: the person of the requests it carries, else of its own."""
    ids = carried(card_row) or [card_row.subject_id]
    asked = select(Person).join(Acknowledgement, Acknowledgement.person_id == Person.id)
    return await session.scalar(asked.where(Acknowledgement.id.in_(ids)).limit(1))


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
