"""The weekly digest: once a week, one message per person across all their accounts.

It replaces one nudge per account: what is new on my accounts (what colleagues logged since
the last digest), what waits for me (items to acknowledge, plan reviews to update, decisions I
am to tell the customer about), whether I logged anything this week, and, on the accounts I manage as KA
manager, the coverage gaps of the relationship map (kam.relationships). It goes on the
person's own day (`digest_day`, else the tenant's) from the configured hour in their time
zone, at most once per person and week, whichever instance gets there first: the unique
(person, week) row is the claim. `pause nudges` stops it as it stops the other questions;
`digest off` stops only it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import (
    Account,
    AccountMember,
    Acknowledgement,
    Contact,
    ContactKind,
    Decision,
    DigestSent,
    ItemKind,
    NudgeSent,
    OutboxMessage,
    Person,
    PriceAction,
    Review,
    Role,
    aware,
    utcnow,
)
from kam.nudges import WEEKDAYS, NudgeTime, local_now, week_of, week_start
from kam.outbox import OutboxKind
from kam.relationships import RelationshipMap, relationship_maps
from kam.storage import insert_id_if_absent, insert_if_absent

OFF = "off"
DIGEST_DAYS = (*WEEKDAYS, OFF)
NEWS_SINCE = dt.timedelta(days=7)  # what is new: the week before the digest was due
COMMITMENTS_AHEAD = dt.timedelta(days=14)  # decisions to tell the customer about within two weeks, or overdue
TITLES_SHOWN = 3


def digest_weekday(person: Person, default: NudgeTime) -> int | None:
    """The weekday the person's digest goes (0 = Monday); None when they turned it off."""
    day = person.digest_day
    if day == OFF:
        return None
    return WEEKDAYS.index(day) if day in WEEKDAYS else default.weekday


def set_digest_day(person: Person, day: str) -> None:
    if day not in DIGEST_DAYS:
        raise ValueError(f"no digest day {day!r}")
    person.digest_day = day


async def schedule_digests(session: AsyncSession, when: NudgeTime, now: dt.datetime | None = None) -> int:
    """Queue the digests due now; returns how many.

    Runs on every sweep: two queries whatever the number of people (who is on an active account,
    this week's claims), then a claim per digest that goes. Each account the person has logged
    nothing for this week gets a NudgeSent row as before, so that the share of weekly questions
    answered still counts.
    """
    now = now or utcnow()
    recent = now - dt.timedelta(days=8)  # covers the current week in every time zone
    claimed = {
        tuple(row)
        for row in await session.execute(
            select(DigestSent.person_id, DigestSent.week).where(DigestSent.sent_at >= recent)
        )
    }
    rows = await session.execute(
        select(Person, AccountMember.account_id)
        .join(AccountMember, AccountMember.person_id == Person.id)
        .join(Account, Account.id == AccountMember.account_id)
        .where(Account.active.is_(True), Person.nudges_paused.is_(False))
        .order_by(Person.id, AccountMember.account_id)
    )
    accounts_of: dict[int, list[int]] = {}
    people: dict[int, Person] = {}
    for person, account_id in rows.all():
        people[person.id] = person
        accounts_of.setdefault(person.id, []).append(account_id)
    queued = 0
    for person_id, person in people.items():
        if not (person.teams_user_id or person.aad_object_id):
            continue
        local = local_now(person, now)
        if local.weekday() != digest_weekday(person, when) or local.hour < when.hour:
            continue
        week = week_of(local)
        if (person_id, week) in claimed:
            continue
        claim = {"person_id": person_id, "week": week, "sent_at": now}
        digest_id = await insert_id_if_absent(session, DigestSent, claim, ["person_id", "week"])
        if digest_id is None:
            continue  # claimed a moment ago by another instance
        quiet = await _logged_nothing(session, person, accounts_of[person_id], week_start(local))
        for account_id in quiet:  # a weekly nudge of this week, sent before the upgrade to digests, counts already
            claim = {"person_id": person_id, "account_id": account_id, "week": week, "sent_at": now}
            await insert_if_absent(session, NudgeSent, claim, ["person_id", "account_id", "week"])
        session.add(OutboxMessage(kind=OutboxKind.NUDGE_WEEKLY, subject_id=digest_id))
        queued += 1
    return queued


async def _logged_nothing(
    session: AsyncSession, person: Person, account_ids: Sequence[int], since: dt.datetime
) -> list[int]:
    """Of `account_ids`, those the person logged no contact and no decision for since `since` (one statement)."""
    logged = union(
        *(
            select(model.account_id).where(
                model.logged_by_id == person.id, model.account_id.in_(account_ids), model.created_at >= since
            )
            for model in (Contact, Decision)
        )
    ).subquery()
    found = set(await session.scalars(select(logged.c.account_id)))
    return [a for a in account_ids if a not in found]


@dataclass(frozen=True)
class AccountNews:
    """What colleagues logged for one account since the last digest."""

    account_id: int
    account_name: str
    contacts: int
    decisions: int
    decision_titles: list[str]
    last_met: dt.date | None


@dataclass(frozen=True)
class Waiting:
    """Something the person owes: an item to acknowledge, a review to update, a customer to tell.

    `title`: a decision's or price action's (user text); a contact is named by its type and date.
    `on`: the contact's date, the review's due date, or when the customer must be told.
    """

    account_name: str
    what: str  # ACKNOWLEDGE, UPDATE_REVIEW or TELL
    title: str = ""
    on: dt.date | None = None
    contact_kind: ContactKind | None = None


ACKNOWLEDGE, UPDATE_REVIEW, TELL = "acknowledge", "review", "tell"


@dataclass(frozen=True)
class AccountGaps:
    """The coverage gaps of an account the person manages; its map names whom they are about."""

    account_name: str
    relationship_map: RelationshipMap


@dataclass(frozen=True)
class Digest:
    person: Person
    since: dt.datetime
    news: list[AccountNews]
    waiting: list[Waiting] = field(default_factory=list)
    quiet_accounts: list[str] = field(default_factory=list)  # accounts the person logged nothing for this week
    gaps: list[AccountGaps] = field(default_factory=list)  # accounts they manage with coverage gaps, by name


async def digest_of(session: AsyncSession, digest_id: int, now: dt.datetime | None = None) -> Digest | None:
    """The digest as it reads when it is sent; None when it is no longer owed (paused, turned off, no account).

    Six statements whatever the number of accounts, seven more for a KA manager's coverage gaps: every member of
    a tenant gets one the same hour. What is new is what colleagues logged in the week before the digest was due
    (the card says since when). The gaps are for the accounts the person is KA manager of, not those they are
    a member of; the digest goes to the person's 1:1 chat only, so a confidential account's gaps are named too.
    """
    now = now or utcnow()
    claim = await session.get(DigestSent, digest_id)
    person = claim.person if claim is not None else None
    if claim is None or person is None or person.nudges_paused or person.digest_day == OFF:
        return None
    rows = (
        await session.execute(
            select(Account.id, Account.name, AccountMember.role)
            .join(AccountMember, AccountMember.account_id == Account.id)
            .where(AccountMember.person_id == person.id, Account.active.is_(True))
            .order_by(Account.name)
        )
    ).all()
    names: dict[int, str] = {account_id: name for account_id, name, _role in rows}
    if not names:
        return None
    managed = [account_id for account_id, _name, role in rows if role == Role.MANAGER]
    since = aware(claim.sent_at) - NEWS_SINCE
    this_week = week_start(local_now(person, now))
    news, logged = await _news(session, names, person, since, this_week)
    return Digest(
        person=person,
        since=since,
        news=[n for n in news if n.contacts or n.decisions],
        waiting=await _waiting(session, person, names, local_now(person, now).date()),
        quiet_accounts=[name for account_id, name in names.items() if account_id not in logged],
        gaps=await _gaps(session, managed, names, local_now(person, now).date()),
    )


async def _gaps(session: AsyncSession, managed: list[int], names: dict[int, str], today: dt.date) -> list[AccountGaps]:
    """The coverage gaps of the accounts the person manages, in the order of `managed` (by name)."""
    maps = await relationship_maps(session, managed, today, deciders_only=True)
    return [AccountGaps(names[account_id], maps[account_id]) for account_id in managed if maps[account_id].gaps]


async def _news(
    session: AsyncSession, names: dict[int, str], person: Person, since: dt.datetime, this_week: dt.datetime
) -> tuple[list[AccountNews], set[int]]:
    """What colleagues logged on each account since `since`, when the team last met the customer; and the
    accounts the person logged something for this week (two statements for all accounts)."""
    by_others = and_(Contact.logged_by_id != person.id, Contact.created_at >= since)
    mine = and_(Contact.logged_by_id == person.id, Contact.created_at >= this_week)
    contacts = await session.execute(
        select(
            Contact.account_id,
            func.sum(case((by_others, 1), else_=0)),
            func.sum(case((mine, 1), else_=0)),
            func.max(Contact.met_on),
        )
        .where(Contact.account_id.in_(names))
        .group_by(Contact.account_id)
    )
    counted: dict[int, tuple[int, dt.date | None]] = {}
    logged: set[int] = set()
    for account_id, count, my_count, last_met in contacts:
        counted[account_id] = (int(count or 0), last_met)
        if my_count:
            logged.add(account_id)
    titles: dict[int, list[str]] = {}
    decisions = await session.execute(
        select(Decision.account_id, Decision.title, Decision.logged_by_id, Decision.created_at)
        .where(Decision.account_id.in_(names), Decision.created_at >= min(since, this_week))
        .order_by(Decision.created_at.desc())
    )
    for account_id, title, author, created_at in decisions:
        if author != person.id and aware(created_at) >= since:
            titles.setdefault(account_id, []).append(title)
        elif author == person.id and aware(created_at) >= this_week:
            logged.add(account_id)
    news = []
    for account_id, name in names.items():
        count, last_met = counted.get(account_id, (0, None))
        new_titles = titles.get(account_id, [])
        news.append(AccountNews(account_id, name, count, len(new_titles), new_titles[:TITLES_SHOWN], last_met))
    return news, logged


async def _waiting(session: AsyncSession, person: Person, names: dict[int, str], today: dt.date) -> list[Waiting]:
    owed = await session.scalars(
        select(Acknowledgement)
        .where(
            Acknowledgement.person_id == person.id,
            Acknowledgement.acknowledged_at.is_(None),
            Acknowledgement.required.is_(True),
            Acknowledgement.account_id.in_(names),
        )
        .order_by(Acknowledgement.created_at)
    )
    waiting = [w for ack in owed if (w := await _owed(session, ack, names[ack.account_id])) is not None]
    to_tell = await session.scalars(
        select(Decision)
        .where(
            Decision.communicator_id == person.id,
            Decision.account_id.in_(names),
            Decision.communicate_by.is_not(None),
            Decision.communicate_by >= today - NEWS_SINCE,
            Decision.communicate_by <= today + COMMITMENTS_AHEAD,
        )
        .order_by(Decision.communicate_by)
    )
    waiting += [Waiting(names[d.account_id], TELL, d.title, d.communicate_by) for d in to_tell]
    return waiting


async def _owed(session: AsyncSession, ack: Acknowledgement, account_name: str) -> Waiting | None:
    """An open acknowledgement as the digest lists it; None when its item is gone or its review closed."""
    if ack.item_kind == ItemKind.CONTACT:
        contact = await session.get(Contact, ack.item_id)
        return Waiting(account_name, ACKNOWLEDGE, on=contact.met_on, contact_kind=contact.kind) if contact else None
    if ack.item_kind == ItemKind.DECISION:
        decision = await session.get(Decision, ack.item_id)
        return Waiting(account_name, ACKNOWLEDGE, decision.title, decision.effective_on) if decision else None
    if ack.item_kind == ItemKind.REVIEW:
        review = await session.get(Review, ack.item_id)
        open_review = review is not None and review.closed_at is None
        return Waiting(account_name, UPDATE_REVIEW, on=review.due_on) if review and open_review else None
    action = await session.get(PriceAction, ack.item_id)
    return Waiting(account_name, ACKNOWLEDGE, action.title) if action else None
