"""The outbox: messages owed, claimed and marked by whoever sends them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, Acknowledgement, OutboxMessage, OutboxStatus, Person, Role, utcnow

MAX_ATTEMPTS = 8


class OutboxKind(StrEnum):
    """What an outbox row owes, and so how it is rendered (bot/outbox/render.py has one renderer per kind).

    The subject is the row's `subject_id`; `account_id` and `detail` as noted.
    """

    CHANNEL_WELCOME = "channel.welcome"  # the account whose new channel is greeted
    CONTACT_LOGGED = "contact.logged"  # the contact: its card in the account channel
    DECISION_LOGGED = "decision.logged"  # the decision: its card in the account channel
    PRICE_RISK_POSTED = "price_action.flagged"  # the price action; account: the one at risk
    REVIEW_STARTED = "review.started"  # the review: its card in the account channel
    REVIEW_CLOSED = "review.closed"  # the review: the summary in the account channel
    # an acknowledgement: a 1:1 card to its person, carrying what else they were asked meanwhile (detail, once
    # claimed: kam.acknowledgements.gather_requests)
    ACK_REQUEST = "ack.request"
    ACK_REMINDER = "ack.reminder"  # an acknowledgement: the one reminder
    ACK_OVERDUE = "ack.overdue"  # a KA manager; detail: the item, and who has not acknowledged it
    REVIEW_DUE = "review.due"  # a KA manager; account: the one whose review is due
    NUDGE_WEEKLY = "nudge.weekly"  # the weekly digest (kam.digest.DigestSent); an older row, with an account: none
    NUDGE_MEETING = "nudge.meeting"  # the MeetingNudge
    MEETING_BRIEF = "meeting.brief"  # the MeetingBrief; detail: {"cancelled": true} once a re-read saw it cancelled
    DELIVERY_FAILED = "outbox.failed"  # a KA manager or an admin; detail: which message failed and why
    MEMBERS_MISSING = "team.members_missing"  # a KA manager; detail: the people missing from the account's team
    FEED_NOTIFICATION = "feed.notification"  # the outbox row of a 1:1 card delivered: a pointer to it in the feed
    # a person; account: the one whose item the card shows; detail: the item, the conflict flag, and why they hear
    # of it ("group_framework": found with another account of the customer group; "dismissed": marked not one)
    CONFLICT_NOTICE = "conflict.notice"
    FORM_REQUESTED = "form.requested"  # the person who asked in a channel or group chat; account: the form's, or
    # none for a picker first; detail: the form, and the accounts the picker offers
    LIST_REVIEW_COMMENT = "list_review.comment"  # a KA manager; detail: the list review, whose proposals for their
    # accounts the card asks them to comment on (kam.list_reviews)
    LIST_REVIEW_DUE = "list_review.due"  # a head of KAM; detail: when the review fell due, when the last started
    KPI_MONTHLY = "kpi.monthly"  # a KA manager or head of KAM (kam.kpi_cards.KpiCardSent); detail: the month
    HEALTH_DROP = "health.drop"  # a KA manager; account: the one whose health score fell (kam.health.record_health);
    # detail: the day ("on") and the day it is compared with ("before")


# The 1:1 cards that ask something of their person (acknowledge, update a review, fix a delivery, add people to
# a team): once one is delivered, an activity feed notification points to it (bot/outbox/feed.py). Review
# requests to item owners are ACK_REQUEST rows too.
FOLLOWED_IN_FEED = frozenset(
    {OutboxKind.ACK_REQUEST, OutboxKind.ACK_REMINDER, OutboxKind.DELIVERY_FAILED, OutboxKind.MEMBERS_MISSING}
)


FORMS = ("contact", "decision", "stakeholder")  # the forms FORM_REQUESTED can bring


def request_form(session: AsyncSession, person: Person, accounts: Sequence[Account], form: str) -> None:
    """A form asked for where others read along, owed to the person's 1:1 chat: the form of the one account,
    or first the picker of those `accounts` (the ones the access policy let the person log for)."""
    if form not in FORMS or not accounts:
        raise ValueError(f"no form {form!r} for {len(accounts)} accounts")
    one = accounts[0].id if len(accounts) == 1 else None
    detail = {"form": form, "accounts": [a.id for a in accounts]}
    session.add(OutboxMessage(kind=OutboxKind.FORM_REQUESTED, subject_id=person.id, account_id=one, detail=detail))


LEASE = dt.timedelta(minutes=10)  # longer than any send with its retries takes; a dead sender's rows return then


async def claim_due(session: AsyncSession, limit: int = 50, lease: dt.timedelta = LEASE) -> list[OutboxMessage]:
    """Lease the pending rows whose time has come, so that no other sender takes them until the lease ends.

    The lease is the row's `not_before` moved forward plus a `lease_id` (one for the batch):
    the caller commits at once and sends with no transaction open, renewing the lease while
    rows of the batch wait their turn (`renew`); whoever marks a row must still hold the lease
    (`leased`). A sender that dies leaves rows that fall due again when the lease expires.
    """
    now = utcnow()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await session.scalars(query))
    lease_id = uuid.uuid4().hex
    for row in rows:
        row.not_before = now + lease
        row.lease_id = lease_id
    return rows


async def renew(session: AsyncSession, lease_ids: list[str], lease: dt.timedelta = LEASE) -> set[str]:
    """Keep the rows a living sender still holds: their leases run for `lease` from now. The leases that
    still hold a row (the others' rows were all marked, or taken by another sender)."""
    if not lease_ids:
        return set()
    renewed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.lease_id.in_(lease_ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(not_before=utcnow() + lease)
        .returning(OutboxMessage.lease_id)
    )
    return {lease_id for lease_id in renewed if lease_id}


async def leased(session: AsyncSession, message_id: int, lease_id: str) -> OutboxMessage | None:
    """The row, locked, if this lease still holds it (it ran out and another sender took it: None)."""
    query = select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    row = await session.scalar(query)
    if row is None or row.lease_id != lease_id or row.status != OutboxStatus.PENDING:
        return None
    return row


async def release(session: AsyncSession, message_id: int, lease_id: str) -> None:
    """Give a leased row back unsent (its sender is shutting down): due again now, attempts untouched."""
    row = await leased(session, message_id, lease_id)
    if row is not None:
        row.lease_id = None
        row.not_before = utcnow()


def defer(message: OutboxMessage, until: dt.datetime) -> None:
    """Give a claimed row back unsent, due at `until` (it waits for more to go with it): attempts untouched."""
    message.lease_id = None
    message.not_before = until


def mark_sent(message: OutboxMessage) -> None:
    message.status = OutboxStatus.SENT
    message.sent_at = utcnow()
    message.attempts += 1
    message.lease_id = None


def mark_retry(message: OutboxMessage, error: str, delay_seconds: float) -> None:
    """Try again later, or give up visibly once the attempts are spent."""
    message.attempts += 1
    message.last_error = error[:2000]
    message.lease_id = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.FAILED
    message.not_before = utcnow() + dt.timedelta(seconds=delay_seconds)


def mark_throttled(message: OutboxMessage, error: str, delay_seconds: float) -> None:
    """The service said "later" (429): try again then; being throttled is no failure of the message."""
    message.last_error = error[:2000]
    message.lease_id = None
    message.not_before = utcnow() + dt.timedelta(seconds=delay_seconds)


def mark_failed(message: OutboxMessage, error: str) -> None:
    """A failure that needs a person (no channel reference, app removed): never retried."""
    message.attempts += 1
    message.status = OutboxStatus.FAILED
    message.last_error = error[:2000]
    message.lease_id = None


def follow_in_feed(session: AsyncSession, delivered: OutboxMessage) -> bool:
    """Queue the feed notification about a 1:1 card just delivered, in the transaction that marks it sent: it
    goes once the card has, and a notification that fails never touches the card. Whether one was queued."""
    if delivered.kind not in FOLLOWED_IN_FEED:
        return False
    feed = OutboxMessage(kind=OutboxKind.FEED_NOTIFICATION, subject_id=delivered.id, account_id=delivered.account_id)
    session.add(feed)
    return True


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    return int(await session.scalar(query) or 0)


REPORTED_AGAIN_AFTER = dt.timedelta(days=1)
UNREACHED = "not reachable"  # how a row that Teams would not deliver to its person begins its last error
# Refusals about where a message goes, not about the message: every message there meets them, one report does.
DESTINATION_REFUSALS = (
    "BotNotInConversationRoster",
    "ForbiddenOperationException",
    "ConversationBlockedByUser",
    "ConversationNotFound",
    "BotDisabledByAdmin",
)


def _reason(error: str) -> str:
    """What Teams said, without the item's own words: the status and the service's error code."""
    return error.split(")", 1)[0] + ")" if error.startswith("HTTP ") and "(" in error else error[:120]


def _about_destination(reason: str) -> bool:
    if reason.startswith(UNREACHED) or "has no Teams id" in reason or "has no channel" in reason:
        return True
    return any(f"({code})" in reason for code in DESTINATION_REFUSALS)


async def report_failure(
    session: AsyncSession, message: OutboxMessage, *, where: str = "", admins: Sequence[str] = ()
) -> int:
    """Tell the account's KA managers and kambot's admins that a message will not arrive, so that a person
    can fix it; the message stays failed (`kambot outbox retry` sends it again). A refusal of the destination
    (a channel kambot is not in, a person it cannot write to) is told once a day per account, destination
    and reason: every message there meets it, and one report says so. Any other failure is told each time.

    A failed report is not reported again (the manager may be the one who cannot be reached), nor a feed
    notification (it points to a card that was delivered).
    """
    if message.kind in (OutboxKind.DELIVERY_FAILED, OutboxKind.FEED_NOTIFICATION) or message.account_id is None:
        return 0
    account = await session.get(Account, message.account_id)
    if account is None:
        return 0
    reason = _reason(message.last_error or "")
    if _about_destination(reason):
        since = utcnow() - REPORTED_AGAIN_AFTER
        earlier = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == OutboxKind.DELIVERY_FAILED,
                OutboxMessage.account_id == account.id,
                OutboxMessage.created_at >= since,
            )
        )
        if any((m.detail or {}).get("where") == where and (m.detail or {}).get("reason") == reason for m in earlier):
            return 0
    detail = {
        "failed_id": message.id,
        "kind": message.kind,
        "error": (message.last_error or "")[:300],
        "where": where,
        "reason": reason,
    }
    told = [m.person for m in account.members if m.role == Role.MANAGER]
    if admins:
        told += list(await session.scalars(select(Person).where(Person.aad_object_id.in_(admins))))
    recipients = {p.id: p for p in told}
    for person_id in recipients:
        session.add(
            OutboxMessage(kind=OutboxKind.DELIVERY_FAILED, subject_id=person_id, account_id=account.id, detail=detail)
        )
    return len(recipients)


# What still matters once someone can be reached again: the requests to acknowledge an item (a reminder
# would only repeat one; an item acknowledged meanwhile is no longer owed), and the reports of the last day.
# Weekly nudges and older reports are about a week or a problem that has passed.
REQUEUED_REPORTS = (
    OutboxKind.ACK_OVERDUE,
    OutboxKind.REVIEW_DUE,
    OutboxKind.DELIVERY_FAILED,
    OutboxKind.MEMBERS_MISSING,
)
REQUEUED_REPORTS_SINCE = dt.timedelta(days=1)


async def requeue_unreached(session: AsyncSession, person_id: int) -> int:
    """The person's cards that failed because Teams would not let kambot reach them and still matter: due now."""
    acknowledgements = select(Acknowledgement.id).where(Acknowledgement.person_id == person_id)
    requests = (OutboxMessage.kind == OutboxKind.ACK_REQUEST) & OutboxMessage.subject_id.in_(acknowledgements)
    reports = (
        OutboxMessage.kind.in_(REQUEUED_REPORTS)
        & (OutboxMessage.subject_id == person_id)
        & (OutboxMessage.created_at >= utcnow() - REQUEUED_REPORTS_SINCE)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.FAILED,
            OutboxMessage.last_error.startswith(UNREACHED),
            requests | reports,
        )
        .values(status=OutboxStatus.PENDING, attempts=0, not_before=utcnow(), lease_id=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def failed_messages(session: AsyncSession) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED).order_by(OutboxMessage.id)
    return list(await session.scalars(query))


async def retry_failed(session: AsyncSession, ids: list[int] | None = None) -> int:
    """Put failed messages back in the queue (after someone fixed the cause); all of them without `ids`."""
    count = 0
    for message in await failed_messages(session):
        if ids is None or message.id in ids:
            message.status = OutboxStatus.PENDING
            message.attempts = 0
            message.not_before = utcnow()
            count += 1
    return count
