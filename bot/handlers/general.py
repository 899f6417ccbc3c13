"""help, accounts and the welcome."""

from __future__ import annotations

from bot.services import Turn
from cards.general import AccountLine, accounts_card, help_card, welcome_card
from kam.accounts import accounts_of, role_of
from kam.conversations import base_conversation_id, mark_welcomed
from kam.people import find_person


async def show_help(turn: Turn) -> None:
    await turn.show(help_card(turn.t))


async def list_accounts(turn: Turn) -> None:
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        lines = [
            AccountLine(account.name, account.tier, role)
            for account in await accounts_of(session, person)
            if (role := role_of(account, person)) is not None
        ]
    await turn.show(accounts_card(turn.t, lines))


async def welcome(turn: Turn) -> None:
    """Teams announces an installation twice (installationUpdate and conversationUpdate): greet once."""
    conversation_id = base_conversation_id(turn.context.activity.conversation.id)
    async with turn.services.db.transaction() as session:
        first_time = await mark_welcomed(session, conversation_id)
    if first_time:
        await turn.show(welcome_card(turn.t))
