"""The brief before a customer meeting: an hour before it, each of our attendees on the account team gets what
the team knows (the last contacts and decisions, what we committed to, who is coming, open conflicts).

The calendars are read with the after-meeting nudges' reads (kam/meetings.py), which reach ahead by the hour
and two read intervals (`look_ahead`): no meeting slips between two reads, and a meeting found early is briefed
when its hour comes (its outbox row is due then). The unique (person, meeting) row is the claim, whichever
instance reads first, however often the calendar is read again. What a later read of any attendee's calendar
shows before the brief goes (the meeting cancelled, moved) is passed on to the brief's waiting outbox row; when
the brief is sent, it is checked once more (paused, left the team, the meeting begun).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import Act, Audience, Principal, Subject, is_allowed, may_see_details
from kam.accounts import accounts_of, get_account, stakeholders_of
from kam.meetings import KEY_MAX, SUBJECT_MAX, CalendarRead, Meeting, best_account
from kam.models import (
    Account,
    Contact,
    Decision,
    Flag,
    FlagKind,
    ItemKind,
    MeetingBrief,
    OutboxMessage,
    OutboxStatus,
    Person,
    PriceAction,
    Stakeholder,
    aware,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.storage import insert_id_if_absent
from kam.subjects import contact_subject
from kam.timeline import timeline_page

BRIEF_AHEAD = dt.timedelta(hours=1)
# What a brief shows: a glance, not the Log tab.
RECENT_SHOWN = 4
COMMITMENTS_SHOWN = 3
COMMITMENT_WEEKS = 8  # nothing marks a commitment as kept: those of the last weeks are the ones still open
COMMITMENTS_READ = 100
ATTENDEES_SHOWN = 8
CONFLICTS_SHOWN = 3
CONFLICTS = (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK, FlagKind.PRICE_RISK)


def look_ahead(every: dt.timedelta) -> dt.timedelta:
    """How far a calendar read reaches into the future: the brief's hour and two read intervals, so that no meeting
    slips between two reads, and the calendar is read once more before its brief goes (to see it cancelled, moved)."""
    return BRIEF_AHEAD + 2 * every


async def record_briefs(session: AsyncSession, read: CalendarRead, meetings: Sequence[Meeting]) -> int:
    """Claim a brief for the person for each customer meeting of their accounts that starts before the read's end
    and has not begun; what the read shows of meetings briefed already (cancelled, moved) is passed on to their
    briefs still waiting, whoever they are for. Returns how many briefs were claimed."""
    person = await session.get(Person, read.person_id)
    if person is None:
        return 0
    now = utcnow()
    accounts = [a for a in await accounts_of(session, person) if a.customer_domains]
    customer_meetings = []
    for meeting in meetings:
        match = best_account(meeting, accounts) if meeting.key and meeting.ends_at > now else None
        if match is not None:
            customer_meetings.append((meeting, *match))
    claimed = await _claimed(session, [(account.id, m.key[:KEY_MAX]) for m, account, _ in customer_meetings])
    queued = 0
    for meeting, account, customers in customer_meetings:
        key = meeting.key[:KEY_MAX]
        briefs = claimed.get((account.id, key), [])
        for brief in briefs:
            await _follow(session, brief, meeting, now)
        mine = any(b.person_id == person.id for b in briefs)
        if mine or person.nudges_paused or meeting.cancelled or not now < meeting.starts_at <= read.end:
            continue
        claim = {
            "person_id": person.id,
            "account_id": account.id,
            "meeting_key": key,
            "subject": meeting.subject[:SUBJECT_MAX],
            "starts_at": meeting.starts_at,
            "ends_at": meeting.ends_at,
            "customer_attendees": [{"name": a.name, "address": a.address} for a in customers],
            "created_at": now,
        }
        brief_id = await insert_id_if_absent(session, MeetingBrief, claim, ["person_id", "meeting_key"])
        if brief_id is None:
            continue  # claimed meanwhile by another instance
        due = max(now, meeting.starts_at - BRIEF_AHEAD)
        session.add(
            OutboxMessage(kind=OutboxKind.MEETING_BRIEF, subject_id=brief_id, account_id=account.id, not_before=due)
        )
        queued += 1
    return queued


async def _claimed(
    session: AsyncSession, meetings: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], list[MeetingBrief]]:
    """The briefs claimed for these (account, meeting) pairs, for anyone."""
    if not meetings:
        return {}
    query = select(MeetingBrief).where(
        MeetingBrief.account_id.in_({a for a, _ in meetings}), MeetingBrief.meeting_key.in_({k for _, k in meetings})
    )
    found: dict[tuple[int, str], list[MeetingBrief]] = {}
    for brief in await session.scalars(query):
        found.setdefault((brief.account_id, brief.meeting_key), []).append(brief)
    return found


async def _follow(session: AsyncSession, brief: MeetingBrief, meeting: Meeting, now: dt.datetime) -> None:
    """A meeting briefed already, read again: cancelled or moved, its brief follows while it waits (and no sender
    holds it); once sent, it stays as it was sent. Outlook cancels for good: a cancelled meeting is never back."""
    subject = meeting.subject[:SUBJECT_MAX]
    was = (aware(brief.starts_at), aware(brief.ends_at), brief.subject)
    moved = was != (meeting.starts_at, meeting.ends_at, subject)
    if not (meeting.cancelled or moved):
        return
    waiting = await session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == OutboxKind.MEETING_BRIEF,
            OutboxMessage.subject_id == brief.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.lease_id.is_(None),
        )
        .with_for_update(skip_locked=True)
    )
    if waiting is None:
        return
    if meeting.cancelled:
        if not (waiting.detail or {}).get("cancelled"):
            waiting.detail = {"cancelled": True}
    elif moved:
        brief.starts_at, brief.ends_at, brief.subject = meeting.starts_at, meeting.ends_at, subject
        waiting.not_before = max(now, meeting.starts_at - BRIEF_AHEAD)


async def still_due(session: AsyncSession, brief: MeetingBrief, message: OutboxMessage) -> bool:
    """Checked when the brief is sent: not for a meeting known to be cancelled or already begun, nor to someone
    who paused nudges or is no longer on the account's team."""
    person = brief.person
    if (message.detail or {}).get("cancelled") or person.nudges_paused or aware(brief.starts_at) <= utcnow():
        return False
    account = await session.get(Account, brief.account_id)
    return account is not None and account.active and is_allowed(Principal(person), Act.VIEW, Subject(account=account))


@dataclass(frozen=True)
class Recent:
    """One of the account's latest contacts or decisions; `visible`: the reader may see its details."""

    item: Contact | Decision
    on: dt.date
    visible: bool = True


@dataclass(frozen=True)
class Attending:
    """A customer attendee as the calendar names them, the stakeholder of that name, and our last contact naming
    them (the date and who logged it)."""

    name: str
    address: str
    stakeholder: Stakeholder | None
    last_met: dt.date | None
    last_met_by: str


@dataclass(frozen=True)
class Conflict:
    """An open conflict the failure checks found; `topic_visible`: it names nothing from a confidential contact
    the reader may not see."""

    flag: Flag
    topic_visible: bool
    other_hidden: bool = False  # the other item is on a confidential account of the customer group: nobody named


@dataclass(frozen=True)
class BriefContents:
    brief: MeetingBrief
    account: Account
    recent: list[Recent]
    commitments: list[Contact]
    more_commitments: int
    attendees: list[Attending]
    more_attendees: int
    conflicts: list[Conflict]
    more_conflicts: int


async def brief_contents(
    session: AsyncSession, brief: MeetingBrief, principal: Principal, audience: Audience
) -> BriefContents:
    """What the brief tells its reader, as the access policy lets them see it where it is shown."""
    account = await get_account(session, brief.account_id)
    day = aware(brief.starts_at).date()
    visible = _Visibility(session, principal, audience)
    commitments = await _commitments(session, account.id, day, visible)
    attendees = brief.customer_attendees or []
    conflicts = await _open_conflicts(session, account.id, day, visible)
    return BriefContents(
        brief=brief,
        account=account,
        recent=await _recent(session, account.id, visible),
        commitments=commitments[:COMMITMENTS_SHOWN],
        more_commitments=max(len(commitments) - COMMITMENTS_SHOWN, 0),
        attendees=await _attending(session, account.id, attendees[:ATTENDEES_SHOWN]),
        more_attendees=max(len(attendees) - ATTENDEES_SHOWN, 0),
        conflicts=conflicts[:CONFLICTS_SHOWN],
        more_conflicts=max(len(conflicts) - CONFLICTS_SHOWN, 0),
    )


class _Visibility:
    """The access policy's answer for each contact, asked once per contact."""

    def __init__(self, session: AsyncSession, principal: Principal, audience: Audience) -> None:
        self._session = session
        self._principal = principal
        self._audience = audience
        self._known: dict[int, bool] = {}

    async def of(self, contact: Contact) -> bool:
        if contact.id not in self._known:
            subject = await contact_subject(self._session, contact)
            self._known[contact.id] = may_see_details(self._principal, subject, self._audience)
        return self._known[contact.id]


async def _recent(session: AsyncSession, account_id: int, visible: _Visibility) -> list[Recent]:
    page = await timeline_page(session, account_id, 0, RECENT_SHOWN)
    recent = []
    for entry in page.entries:
        if entry.kind == "contact":
            contact = page.contacts[entry.id]
            recent.append(Recent(contact, entry.on, await visible.of(contact)))
        else:
            recent.append(Recent(page.decisions[entry.id], entry.on))
    return recent


async def _commitments(session: AsyncSession, account_id: int, day: dt.date, visible: _Visibility) -> list[Contact]:
    """What we committed to in the last weeks, newest first; confidential ones only for those who may see them."""
    since = day - dt.timedelta(weeks=COMMITMENT_WEEKS)
    contacts = await session.scalars(
        select(Contact)
        .where(Contact.account_id == account_id, Contact.met_on >= since, Contact.we_committed != "")
        .order_by(Contact.met_on.desc(), Contact.created_at.desc(), Contact.id.desc())
        .limit(COMMITMENTS_READ)
    )
    return [c for c in contacts if c.we_committed.strip() and await visible.of(c)]


async def _attending(session: AsyncSession, account_id: int, attendees: Sequence[dict[str, str]]) -> list[Attending]:
    """Each attendee, matched by name (case aside) to the account's stakeholders, with our last contact naming them:
    as a stakeholder met, or in the people met as typed."""
    by_name = {s.name.strip().casefold(): s for s in await stakeholders_of(session, account_id)}
    found = []
    for attendee in attendees:
        name, address = str(attendee.get("name") or "").strip(), str(attendee.get("address") or "")
        stakeholder = by_name.get(name.casefold()) if name else None
        named = []
        if stakeholder is not None:
            named.append(Contact.stakeholders.any(Stakeholder.id == stakeholder.id))
        if name:
            named.append(Contact.customer_people.icontains(name, autoescape=True))
        last = None
        if named:
            last = await session.scalar(
                select(Contact)
                .where(Contact.account_id == account_id, or_(*named))
                .order_by(Contact.met_on.desc(), Contact.created_at.desc())
                .limit(1)
            )
        met_on, met_by = (last.met_on, last.logged_by.name) if last else (None, "")
        found.append(Attending(name or address, address, stakeholder, met_on, met_by))
    return found


async def _open_conflicts(session: AsyncSession, account_id: int, day: dt.date, visible: _Visibility) -> list[Conflict]:
    """The conflicts not resolved, newest first: a concession after a paid agreement while that agreement stands,
    two framework agreements while both are open, a price action still running where the account has sites."""
    flags = list(
        await session.scalars(
            select(Flag)
            .where(
                Flag.account_id == account_id,
                Flag.kind.in_(CONFLICTS),
                Flag.closed_at.is_(None),
                Flag.dismissed_at.is_(None),  # marked "not a conflict" by someone it names
            )
            .order_by(Flag.created_at.desc(), Flag.id.desc())
        )
    )
    if not flags:
        return []
    agreements = await session.scalars(
        select(Flag).where(Flag.account_id == account_id, Flag.kind == FlagKind.FRAMEWORK_AGREEMENT)
    )
    ended = {(f.item_kind, f.item_id) for f in agreements if f.closed_at is not None}
    price_ids = [f.item_id for f in flags if f.kind == FlagKind.PRICE_RISK]
    running = set(
        await session.scalars(
            select(PriceAction.id).where(
                PriceAction.id.in_(price_ids), or_(PriceAction.ends_on.is_(None), PriceAction.ends_on >= day)
            )
        )
    )
    conflicts = []
    for flag in flags:
        related = flag.related
        if related is not None and related.closed_at is not None:
            continue
        if flag.kind == FlagKind.PARALLEL_FRAMEWORK and (flag.item_kind, flag.item_id) in ended:
            continue
        if flag.kind == FlagKind.PRICE_RISK and flag.item_id not in running:
            continue
        other = await session.get(Account, related.account_id) if related and related.account_id != account_id else None
        hidden = other is not None and other.confidential
        conflicts.append(Conflict(flag, await _topic_visible(session, flag, visible), hidden))
    return conflicts


async def _topic_visible(session: AsyncSession, flag: Flag, visible: _Visibility) -> bool:
    """A conflict's topic may come from a contact on either side of it (a paid service, an agreement's summary),
    or from another account of the customer group, whose topics a confidential one keeps to its own team."""
    for side in (flag, flag.related):
        if side is not None and side.account_id != flag.account_id:
            other = await session.get(Account, side.account_id)
            if other is None or other.confidential:
                return False
        if side is not None and side.item_kind == ItemKind.CONTACT:
            contact = await session.get(Contact, side.item_id)
            if contact is not None and not await visible.of(contact):
                return False
    return True
