"""People on our side: who is talking to the bot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Person
from kam.outbox import requeue_unreached


def teams_id(person: Person) -> str:
    """The person's Teams id (what a mention and a 1:1 chat need), else their Entra object id."""
    return person.teams_user_id or person.aad_object_id or ""


def addressee(person: Person) -> str:
    """Whom a 1:1 card is issued to, as a turn names its caller (Entra object id, else Teams id)."""
    return person.aad_object_id or person.teams_user_id or ""


@dataclass(frozen=True)
class Caller:
    """The user behind one turn, as the channel identifies them."""

    aad_object_id: str | None
    teams_user_id: str | None
    name: str


# Built once: every turn asks who the caller is.
_BY_AAD_OBJECT_ID = select(Person).where(Person.aad_object_id == bindparam("id"))
_BY_TEAMS_USER_ID = select(Person).where(Person.teams_user_id == bindparam("id"))


async def find_person(session: AsyncSession, caller: Caller, among: Iterable[Person] = ()) -> Person | None:
    """Find the caller by Entra object id, else by Teams user id; remember new ids seen.

    `among`: people this transaction loaded already (the team of the account a card names); the
    caller found there by Entra object id (unique) is the same row a query would find, without the query.
    """
    person = None
    if caller.aad_object_id:
        person = next((p for p in among if p.aad_object_id == caller.aad_object_id), None)
        if person is None:
            person = await session.scalar(_BY_AAD_OBJECT_ID, {"id": caller.aad_object_id})
    if person is None and caller.teams_user_id:
        person = await session.scalar(_BY_TEAMS_USER_ID, {"id": caller.teams_user_id})
    if person is not None and caller.teams_user_id and person.teams_user_id != caller.teams_user_id:
        person.teams_user_id = caller.teams_user_id
    return person


async def remember_chat(
    session: AsyncSession,
    caller: Caller,
    conversation_id: str,
    locale: str | None,
    time_zone: str | None = None,
    tenant_id: str | None = None,
) -> bool:
    """The caller's 1:1 chat with the bot, language and time zone: where, how and when their reminders go.

    False when the caller is nobody kambot knows (yet).
    """
    person = await find_person(session, caller)
    if person is None:
        return False
    if time_zone and len(time_zone) <= 64 and person.time_zone != time_zone:
        person.time_zone = time_zone
    if person.chat_id != conversation_id:
        person.chat_id = conversation_id
    if tenant_id and person.tenant_id != tenant_id[:64]:
        person.tenant_id = tenant_id[:64]
    if locale and person.locale != locale[:20]:
        person.locale = locale[:20]
    if person.unreachable_since is not None:
        await reachable(session, person)  # they talk to kambot in their own chat: it can write to them there
    return True


def unreachable(person: Person, reason: str, now: dt.datetime) -> None:
    """Teams refused kambot a 1:1 chat with them: the items that ask them say so until they are reached, and
    the next card opens a new chat rather than use one Teams no longer lets kambot write to."""
    if person.unreachable_since is None:
        person.unreachable_since = now
    person.unreachable_reason = reason[:300]
    person.chat_id = None


async def reachable(session: AsyncSession, person: Person) -> None:
    """They can be reached again: what could not reach them is sent now."""
    person.unreachable_since = None
    person.unreachable_reason = None
    await requeue_unreached(session, person.id)


async def colleague(session: AsyncSession, aad_object_id: str) -> Person | None:
    """One of ours, known by their Entra object id (the author of a message, say); None for anyone else."""
    if not aad_object_id:
        return None
    return await session.scalar(_BY_AAD_OBJECT_ID, {"id": aad_object_id})
