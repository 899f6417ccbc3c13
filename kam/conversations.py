"""Conversation references: how the bot reaches a chat or channel again later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import CardMessage, ConversationRef, Welcome, utcnow
from kam.storage import insert_if_absent


@dataclass(frozen=True)
class SeenConversation:
    conversation_id: str
    service_url: str
    tenant_id: str | None
    conversation_type: str | None
    team_id: str | None
    bot_id: str | None


def base_conversation_id(conversation_id: str) -> str:
    """Teams appends ';messageid=...' to a channel thread's id; the channel is what we keep."""
    return conversation_id.split(";", 1)[0]


async def remember(session: AsyncSession, seen: SeenConversation) -> ConversationRef:
    ref = await session.get(ConversationRef, seen.conversation_id)
    if ref is None:
        # Another turn or the outbox may be storing the same conversation right now.
        values = {"conversation_id": seen.conversation_id, "service_url": seen.service_url, "updated_at": utcnow()}
        await insert_if_absent(session, ConversationRef, values, ["conversation_id"])
        ref = await session.get(ConversationRef, seen.conversation_id, populate_existing=True)
        assert ref is not None, "inserted or already there"
    for field in ("service_url", "tenant_id", "conversation_type", "team_id", "bot_id"):
        value = getattr(seen, field)
        if value and getattr(ref, field) != value:
            setattr(ref, field, value)
    return ref


async def mark_welcomed(session: AsyncSession, place: str) -> bool:
    """True the first time only, so a place is greeted once.

    Teams announces an installation with two events at once (installationUpdate and
    conversationUpdate), and the Agents Playground sends the second under another conversation
    id: the claim is the place (see bot/teams/activities.py `place_of`), inserted if absent,
    which exactly one of two racing events does, on SQLite as on PostgreSQL.
    """
    return await insert_if_absent(session, Welcome, {"place": place[:400], "welcomed_at": utcnow()}, ["place"])


async def reference_for_channel(
    session: AsyncSession, channel_id: str, team_id: str | None, tenant_ids: Sequence[str] = ()
) -> ConversationRef | None:
    """The stored reference of the channel, or one of its team or tenant to borrow the service URL from.

    Only references of `tenant_ids` are used (none given: any, as in local mode).
    """
    ref = await session.get(ConversationRef, channel_id)
    if ref is not None and (not tenant_ids or ref.tenant_id in tenant_ids):
        return ref
    if team_id:
        query = _in_tenants(select(ConversationRef).where(ConversationRef.team_id == team_id), tenant_ids)
        ref = await session.scalar(query.order_by(ConversationRef.updated_at.desc()).limit(1))
        if ref is not None:
            return ref
    return await any_reference(session, tenant_ids)


async def any_reference(session: AsyncSession, tenant_ids: Sequence[str] = ()) -> ConversationRef | None:
    """The most recent conversation of the tenant: its service URL reaches anyone in it.

    A reference from another tenant must never open a chat with one of our people, so only
    `tenant_ids` count (none given: any, as in local mode).
    """
    query = _in_tenants(select(ConversationRef), tenant_ids).order_by(ConversationRef.updated_at.desc()).limit(1)
    return await session.scalar(query)


def _in_tenants(query: Select[ConversationRef], tenant_ids: Sequence[str]) -> Select[ConversationRef]:
    return query.where(ConversationRef.tenant_id.in_(list(tenant_ids))) if tenant_ids else query


async def record_card_message(session: AsyncSession, conversation_id: str, activity_id: str, card_id: str) -> None:
    """The bot sent `card_id` as message `activity_id` in the conversation: only that message shows that card."""
    known = await session.get(CardMessage, (conversation_id[:400], activity_id[:200]))
    if known is not None:
        known.card_id = card_id  # the message was updated with another card
        return
    values = {
        "conversation_id": conversation_id[:400],
        "activity_id": activity_id[:200],
        "card_id": card_id,
        "created_at": utcnow(),
    }
    await insert_if_absent(session, CardMessage, values, ["conversation_id", "activity_id"])


async def holds_card(session: AsyncSession, conversation_id: str, activity_id: str, card_id: str) -> bool:
    """Whether the bot's message `activity_id` in the conversation holds that card (a form may update it)."""
    found = await session.get(CardMessage, (conversation_id, activity_id))
    return found is not None and found.card_id == card_id


async def forget_card_messages(session: AsyncSession, before: dt.datetime) -> int:
    """Messages of forms too old to submit need no record."""
    result = await session.execute(
        delete(CardMessage).where(CardMessage.created_at < before).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
