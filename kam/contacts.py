"""Logging a customer contact: the core of "one consistent message"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account, require_team_member, stakeholders_of
from kam.acknowledgements import MustKnow, ask_to_acknowledge, rule_reasons
from kam.catalogue import Catalogue
from kam.checks import Logged, framework_agreement_opened, paid_service_agreed
from kam.errors import InvalidReference, UnknownPerson
from kam.matching import framework_words
from kam.models import (
    Account,
    Acknowledgement,
    Contact,
    ContactKind,
    ItemKind,
    OutboxMessage,
    Person,
    StakeholderLevel,
    contact_participants,
    contact_stakeholders,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.rules import Rules
from kam.storage import insert_once

# Bounds on what a user may type; Teams messages are limited to about 28 KB in all.
SUMMARY_MAX = 2000
FIELD_MAX = 1000
PEOPLE_MAX = 500
TOPIC_MAX = 300


@dataclass(frozen=True)
class LogContact:
    """A validated request to log a contact, as the user filled it in."""

    account_id: int
    author: Person | None
    idempotency_key: str
    met_on: dt.date
    kind: ContactKind
    summary: str
    customer_people: str = ""
    stakeholder_ids: tuple[int, ...] = ()
    participant_ids: tuple[int, ...] = ()
    customer_asked: str = ""
    we_committed: str = ""
    next_steps: str = ""
    confidential: bool = False
    # What the failure checks watch: a service the customer agreed to pay for (typed, or picked from the
    # catalogue: its id), a framework agreement.
    paid_service: str = ""
    paid_service_id: str | None = None
    framework_agreement: bool = False

    @property
    def runs_checks(self) -> bool:
        """Whether a failure check looks at this contact (and may flag it)."""
        return bool(self.paid_service or self.paid_service_id or self.framework_agreement)


@dataclass(frozen=True)
class LoggedContact:
    contact: Contact
    acknowledgements: list[Acknowledgement]  # everyone asked to acknowledge it, by name


async def find_by_key(session: AsyncSession, idempotency_key: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.idempotency_key == idempotency_key))


async def get_contact(session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)


def contact_abouts(contact: Contact) -> list[str]:
    """The rules that apply: every contact, and contacts with the customer's management."""
    about = ["contact"]
    if any(s.level in (StakeholderLevel.MANAGEMENT, StakeholderLevel.EXECUTIVE) for s in contact.stakeholders):
        about.append("contact.management")
    return about


async def log_contact(
    session: AsyncSession, command: LogContact, rules: Rules | None = None, catalogue: Catalogue | None = None
) -> LoggedContact:
    """Store the contact and, in the same transaction, the channel post and the acknowledgements it implies.

    Raises Refused (no such account, or not on its team), InvalidReference, DuplicateSubmission.
    """
    if command.author is None:
        raise UnknownPerson()
    account = await get_account(session, command.account_id)
    require_team_member(account, command.author)

    named = set(command.stakeholder_ids)
    stakeholders_by_id = {s.id: s for s in await stakeholders_of(session, account.id, named)} if named else {}
    team_by_id = {m.person_id: m.person for m in account.members}
    if not named <= stakeholders_by_id.keys():
        raise InvalidReference()
    if not set(command.participant_ids) <= team_by_id.keys():
        raise InvalidReference()

    contact = Contact(  # written by Core below; with its relations set, the card needs no reload
        account_id=account.id,
        account=account,
        logged_by_id=command.author.id,
        logged_by=team_by_id[command.author.id],  # this session's copy of the author
        idempotency_key=command.idempotency_key,
        met_on=command.met_on,
        kind=command.kind,
        customer_people=command.customer_people,
        summary=command.summary,
        customer_asked=command.customer_asked,
        we_committed=command.we_committed,
        next_steps=command.next_steps,
        confidential=command.confidential,
        created_at=utcnow(),
        stakeholders=[stakeholders_by_id[i] for i in dict.fromkeys(command.stakeholder_ids)],
        participants=[team_by_id[i] for i in dict.fromkeys(command.participant_ids)],
    )
    await insert_once(session, contact)  # a second submit of the same card: DuplicateSubmission
    await _link_people(session, contact)
    acknowledgements = await _inform(
        session, rules or Rules(), catalogue or Catalogue(), account, contact, command, command.author
    )
    return LoggedContact(contact, acknowledgements)


async def _link_people(session: AsyncSession, contact: Contact) -> None:
    """Who was there: the customer's stakeholders and our colleagues named on the contact."""
    connection = await session.connection()
    links = (
        (contact_stakeholders, [{"contact_id": contact.id, "stakeholder_id": s.id} for s in contact.stakeholders]),
        (contact_participants, [{"contact_id": contact.id, "person_id": p.id} for p in contact.participants]),
    )
    for table, rows in links:
        if rows:
            await connection.execute(insert(table), rows)


async def _inform(
    session: AsyncSession,
    rules: Rules,
    catalogue: Catalogue,
    account: Account,
    contact: Contact,
    command: LogContact,
    author: Person,
) -> list[Acknowledgement]:
    must_know: list[MustKnow] = rule_reasons(rules, account, contact_abouts(contact))
    logged = Logged(account, ItemKind.CONTACT, contact.id, author)
    if command.paid_service or command.paid_service_id:
        must_know += await paid_service_agreed(
            session, rules, catalogue, logged, command.paid_service, command.paid_service_id
        )
    if command.framework_agreement:
        topic = command.summary[:TOPIC_MAX]
        must_know += await framework_agreement_opened(session, logged, topic, framework_words(command.summary))
    post = OutboxMessage(kind=OutboxKind.CONTACT_LOGGED, subject_id=contact.id, account_id=account.id)
    return await ask_to_acknowledge(
        session, account, (ItemKind.CONTACT, contact.id), author, must_know, rules.for_account(account), announce=[post]
    )
