"""help, accounts and the welcome."""

from __future__ import annotations

from bot.requests import CommandRequest
from bot.turn import Turn
from cards.general import AccountLine, accounts_card, help_card, welcome_card
from kam.access import nameable
from kam.accounts import accounts_of, role_of
from kam.conversations import mark_welcomed


async def show_help(turn: Turn, request: CommandRequest) -> None:
    await turn.show(help_card(turn.t))


async def list_accounts(turn: Turn, request: CommandRequest) -> None:
    """The caller's accounts; where others read along, confidential ones are counted, not named."""
    person = request.person
    async with turn.services.db.transaction() as session:
        mine = await accounts_of(session, person)
    shown = nameable(mine, turn.audience)
    lines = [AccountLine(a.name, a.tier, role) for a in shown if (role := role_of(a, person)) is not None]
    await turn.show(accounts_card(turn.t, lines, unnamed=len(mine) - len(shown)))


async def welcome(turn: Turn) -> None:
    """Teams announces an installation twice (installationUpdate and conversationUpdate): greet once per place."""
    async with turn.services.db.transaction() as session:
        first_time = await mark_welcomed(session, turn.place or turn.conversation_id)
    if first_time:
        await turn.show(welcome_card(turn.t))
