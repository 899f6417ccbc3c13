"""After-meeting nudges: a member met the customer, so ask them (once) to log it.

The calendars are read by the bot room through Graph; this room decides which
meetings were customer meetings (an attendee from the account's customer
domains), whom to ask, and makes sure nobody is asked twice about one meeting:
the unique (person, meeting) row is the claim, whichever instance gets there
first. Reading a calendar is claimed per person (`calendar_due_at` moves forward
under a row lock), so several instances share the reading. The same read looks
ahead for the meetings about to start (kam/briefs.py: the brief before them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import accounts_of
from kam.errors import Refused
from kam.models import Account, AccountMember, Contact, MeetingNudge, OutboxMessage, Person, utcnow
from kam.nudges import NOT_RELEVANT, local_now
from kam.outbox import OutboxKind
from kam.storage import insert_id_if_absent

SUBJECT_MAX = 255
KEY_MAX = 400  # the meeting_key column


@dataclass(frozen=True)
class Attendee:
    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].strip().lower()


@dataclass(frozen=True)
class Meeting:
    """A calendar event as the bot room read it (times in UTC)."""

    key: str
    subject: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    attendees: tuple[Attendee, ...]
    cancelled: bool = False


@dataclass(frozen=True)
class CalendarRead:
    """One person's calendar to read, from `start` to `end`, as claimed `at` (the read's "now")."""

    person_id: int
    user_id: str
    start: dt.datetime
    end: dt.datetime
    at: dt.datetime


def _of_domains(attendee: Attendee, domains: Sequence[str]) -> bool:
    domain = attendee.domain
    return any(domain == d or domain.endswith("." + d) for d in (x.strip().lower().lstrip("@") for x in domains) if d)


async def _watched_account_ids(session: AsyncSession) -> list[int]:
    rows = await session.execute(select(Account.id, Account.customer_domains).where(Account.active.is_(True)))
    return [account_id for account_id, domains in rows if domains]


async def claim_calendar_reads(
    session: AsyncSession,
    *,
    every: dt.timedelta,
    lookback: dt.timedelta,
    ahead: dt.timedelta = dt.timedelta(0),
    now: dt.datetime | None = None,
    limit: int = 50,
) -> list[CalendarRead]:
    """The calendars due for reading, claimed for `every` (another instance skips them meanwhile).

    Only members of accounts with customer domains are read, never those who paused nudges.
    Each read covers the whole look-back window: an event that shows up late (synced late, entered
    afterwards) is still found; the unique nudge row keeps anyone from being asked twice. It reaches
    `ahead` into the future too (the meetings to brief), so that one request per person serves both.
    A read that fails is tried again when the claim runs out.
    """
    now = now or utcnow()
    watched = await _watched_account_ids(session)
    if not watched:
        return []
    members = select(AccountMember.person_id).where(AccountMember.account_id.in_(watched))
    query = (
        select(Person)
        .where(
            Person.id.in_(members),
            Person.aad_object_id.is_not(None),
            Person.nudges_paused.is_(False),
            or_(Person.calendar_due_at.is_(None), Person.calendar_due_at <= now),
        )
        .order_by(Person.calendar_due_at.nulls_first(), Person.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Person)
    )
    reads = []
    for person in await session.scalars(query):
        person.calendar_due_at = now + every
        reads.append(CalendarRead(person.id, person.aad_object_id or "", now - lookback, now + ahead, now))
    return reads


def best_account(meeting: Meeting, accounts: Sequence[Account]) -> tuple[Account, list[Attendee]] | None:
    """The account whose customer came to the meeting (the one with most attendees, if several did)."""
    best: tuple[Account, list[Attendee]] | None = None
    for account in accounts:
        customers = [a for a in meeting.attendees if _of_domains(a, account.customer_domains or [])]
        if customers and (best is None or len(customers) > len(best[1])):
            best = (account, customers)
    return best


async def logged_already(session: AsyncSession, person: Person, account_id: int, met_on: dt.date) -> bool:
    """Did the person log a contact with the account that day, or were they named on a colleague's?"""
    contacts = await session.scalars(select(Contact).where(Contact.account_id == account_id, Contact.met_on == met_on))
    return any(c.logged_by_id == person.id or person in c.participants for c in contacts)


async def record_meetings(
    session: AsyncSession, read: CalendarRead, meetings: Sequence[Meeting], lookback: dt.timedelta
) -> int:
    """Queue a nudge for each customer meeting that ended in the window; returns how many."""
    person = await session.get(Person, read.person_id)
    if person is None:
        return 0
    accounts = [a for a in await accounts_of(session, person) if a.customer_domains]
    queued = 0
    for meeting in meetings:
        if meeting.cancelled or not meeting.key or not (read.at - lookback < meeting.ends_at <= read.at):
            continue
        match = best_account(meeting, accounts)
        if match is None:
            continue
        account, customers = match
        if await logged_already(session, person, account.id, local_now(person, meeting.starts_at).date()):
            continue
        addresses = {a.address.strip().lower() for a in meeting.attendees}
        colleagues = [
            m.person.id
            for m in account.members
            if m.person.id != person.id and m.person.upn and m.person.upn.lower() in addresses
        ]
        claim = {
            "person_id": person.id,
            "account_id": account.id,
            "meeting_key": meeting.key[:KEY_MAX],
            "subject": meeting.subject[:SUBJECT_MAX],
            "starts_at": meeting.starts_at,
            "ends_at": meeting.ends_at,
            "customer_people": [a.name or a.address for a in customers],
            "colleague_ids": colleagues,
            "created_at": utcnow(),
        }
        nudge_id = await insert_id_if_absent(session, MeetingNudge, claim, ["person_id", "meeting_key"])
        if nudge_id is None:
            continue  # asked already (here, or by another instance)
        session.add(OutboxMessage(kind=OutboxKind.NUDGE_MEETING, subject_id=nudge_id, account_id=account.id))
        queued += 1
    return queued


async def still_wanted(session: AsyncSession, nudge: MeetingNudge) -> bool:
    """Checked again when the nudge is sent: answered, paused or logged in between means not."""
    person = nudge.person
    if nudge.answer is not None or person.nudges_paused:
        return False
    return not await logged_already(session, person, nudge.account_id, local_now(person, nudge.starts_at).date())


async def locked_nudge(session: AsyncSession, nudge_id: int) -> MeetingNudge | None:
    """The nudge, locked for this transaction (its own row only: its person comes by an outer join,
    which PostgreSQL does not lock)."""
    return await session.get(MeetingNudge, nudge_id, with_for_update={"of": MeetingNudge})


async def dismiss(session: AsyncSession, nudge_id: int, person: Person | None) -> MeetingNudge:
    """ "Not relevant": never asked about this meeting again. Only the person asked may say so."""
    nudge = await locked_nudge(session, nudge_id)
    if nudge is None or person is None or nudge.person_id != person.id:
        raise Refused()
    if nudge.answer is None:
        nudge.answer = NOT_RELEVANT
        nudge.answered_at = utcnow()
    return nudge


async def postpone_read(session: AsyncSession, person_id: int, until: dt.datetime) -> None:
    """A calendar Graph will not show (no mailbox, excluded by the admin's policy): ask again much later."""
    person = await session.get(Person, person_id)
    if person is not None:
        person.calendar_due_at = until
