"""pause nudges / resume nudges: each member decides for themselves; "not relevant" on a meeting nudge."""

from __future__ import annotations

from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.nudge import meeting_dismissed_card
from kam.errors import UnknownPerson
from kam.meetings import dismiss
from kam.nudges import set_paused
from kam.people import find_person


async def _set(turn: Turn, paused: bool) -> None:
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if person is None:
            raise UnknownPerson()
        set_paused(person, paused)
    await turn.say(turn.t("nudge.paused" if paused else "nudge.resumed"))


async def pause(turn: Turn, request: CommandRequest) -> None:
    await _set(turn, True)


async def resume(turn: Turn, request: CommandRequest) -> None:
    await _set(turn, False)


async def not_relevant(turn: Turn, request: VerbRequest) -> Reply:
    """ "Not relevant" on a meeting nudge: never asked about that meeting again (only its addressee: the router)."""
    nudge = await dismiss(request.session, request.row.id, request.person)
    return Reply(card=meeting_dismissed_card(turn.t, nudge.subject))
