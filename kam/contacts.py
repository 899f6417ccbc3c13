"""Logging a customer contact: the core of "one consistent message"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account, require_team_member
from kam.errors import DuplicateSubmission, InvalidReference, UnknownPerson
from kam.models import Contact, ContactKind, OutboxMessage, Person

# Bounds on what a user may type; Teams messages are limited to about 28 KB in all.
SUMMARY_MAX = 2000
FIELD_MAX = 1000
PEOPLE_MAX = 500

CONTACT_LOGGED = "contact.logged"


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


async def find_by_key(session: AsyncSession, idempotency_key: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.idempotency_key == idempotency_key))


async def get_contact(session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)


async def log_contact(session: AsyncSession, command: LogContact) -> Contact:
    """Store the contact and, in the same transaction, the channel post it implies.

    Raises AccountNotFound, NotOnAccountTeam, InvalidReference, DuplicateSubmission.
    """
    if command.author is None:
        raise UnknownPerson()
    account = await get_account(session, command.account_id)
    require_team_member(account, command.author)

    existing = await find_by_key(session, command.idempotency_key)
    if existing is not None:
        raise DuplicateSubmission()

    stakeholders_by_id = {s.id: s for s in account.stakeholders}
    team_by_id = {m.person_id: m.person for m in account.members}
    if not set(command.stakeholder_ids) <= stakeholders_by_id.keys():
        raise InvalidReference()
    if not set(command.participant_ids) <= team_by_id.keys():
        raise InvalidReference()

    contact = Contact(
        account_id=account.id,
        logged_by_id=command.author.id,
        idempotency_key=command.idempotency_key,
        met_on=command.met_on,
        kind=command.kind,
        customer_people=command.customer_people,
        summary=command.summary,
        customer_asked=command.customer_asked,
        we_committed=command.we_committed,
        next_steps=command.next_steps,
        confidential=command.confidential,
        stakeholders=[stakeholders_by_id[i] for i in command.stakeholder_ids],
        participants=[team_by_id[i] for i in command.participant_ids],
    )
    session.add(contact)
    try:
        await session.flush()
    except IntegrityError:
        # A second submit raced past the check above; the first one won.
        raise DuplicateSubmission() from None
    session.add(OutboxMessage(kind=CONTACT_LOGGED, subject_id=contact.id, account_id=account.id))
    return contact
