"""Conversation references: how the bot reaches a chat or channel again later."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import ConversationRef, utcnow
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


async def mark_welcomed(session: AsyncSession, conversation_id: str) -> bool:
    """True the first time only, so a conversation is welcomed once."""
    ref = await session.get(ConversationRef, conversation_id, with_for_update=True)
    if ref is None or ref.welcomed_at is not None:
        return False
    ref.welcomed_at = utcnow()
    return True


async def reference_for_channel(session: AsyncSession, channel_id: str, team_id: str | None) -> ConversationRef | None:
    """The stored reference of the channel, or one of its team or tenant to borrow the service URL from."""
    ref = await session.get(ConversationRef, channel_id)
    if ref is not None:
        return ref
    if team_id:
        query = select(ConversationRef).where(ConversationRef.team_id == team_id)
        ref = await session.scalar(query.order_by(ConversationRef.updated_at.desc()).limit(1))
    return ref or await any_reference(session)


async def any_reference(session: AsyncSession) -> ConversationRef | None:
    """The most recent conversation of the tenant: its service URL reaches anyone in it."""
    query = select(ConversationRef).order_by(ConversationRef.updated_at.desc()).limit(1)
    return await session.scalar(query)
