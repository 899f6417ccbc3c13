"""pause nudges / resume nudges: each member decides for themselves."""

from __future__ import annotations

from bot.services import Turn
from kam.errors import UnknownPerson
from kam.nudges import set_paused
from kam.people import find_person


async def _set(turn: Turn, paused: bool) -> None:
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if person is None:
            raise UnknownPerson()
        set_paused(person, paused)
    await turn.say(turn.t("nudge.paused" if paused else "nudge.resumed"))


async def pause(turn: Turn) -> None:
    await _set(turn, True)


async def resume(turn: Turn) -> None:
    await _set(turn, False)
