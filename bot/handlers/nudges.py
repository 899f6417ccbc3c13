"""pause nudges / resume nudges: each member decides for themselves; "not relevant" on a meeting nudge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.services import Reply, Turn
from cards.contact import read_meta
from cards.nudge import meeting_dismissed_card, read_nudge_id
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


async def pause(turn: Turn) -> None:
    await _set(turn, True)


async def resume(turn: Turn) -> None:
    await _set(turn, False)


async def not_relevant(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """ "Not relevant" on a meeting nudge: never asked about that meeting again; only its addressee may say so."""
    read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    async with turn.services.db.transaction() as session:
        nudge = await dismiss(session, read_nudge_id(value), await find_person(session, turn.caller))
        return Reply(card=meeting_dismissed_card(turn.t, nudge.subject))
