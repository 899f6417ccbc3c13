"""Acknowledge, the card refresh that shows each person their own view, and ending a framework agreement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.items import item_card
from bot.services import Reply, Turn
from cards.acknowledge import ItemRef, read_item_ref
from kam.accounts import get_account
from kam.acknowledgements import acknowledge
from kam.checks import end_framework_agreement
from kam.models import Person
from kam.people import find_person


def _in_channel(turn: Turn) -> bool:
    conversation = turn.context.activity.conversation
    return getattr(conversation, "conversation_type", None) != "personal"


async def _card(session: AsyncSession, turn: Turn, ref: ItemRef, person: Person | None) -> Reply:
    account = await get_account(session, ref.account_id)
    card = await item_card(session, turn.t, account, ref.item, person, in_channel=_in_channel(turn))
    return Reply(card=card)


async def acknowledge_item(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """Record that the clicker has taken note (asked or not); the card then shows who has."""
    ref = read_item_ref(value)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        account = await get_account(session, ref.account_id)
        await acknowledge(session, account, ref.item, person)
        # Rendering checks that the item exists on that account; if not, nothing is kept.
        return await _card(session, turn, ref, person)


async def view(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """The refresh of a card: the same item, as the person looking at it should see it now."""
    ref = read_item_ref(value)
    async with turn.services.db.transaction() as session:
        return await _card(session, turn, ref, await find_person(session, turn.caller))


async def end_agreement(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """The owner or the KA manager says a framework agreement has ended: later ones no longer clash with it."""
    ref = read_item_ref(value)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if ref.flag_id is None:
            return Reply(message=turn.t("error.malformed"))
        await end_framework_agreement(session, ref.flag_id, person)
        return await _card(session, turn, ref, person)
