"""pause nudges / resume nudges / digest <day>: each member decides for themselves; "not relevant" on a
meeting nudge."""

from __future__ import annotations

from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn, argument_of
from cards.build import echoed
from cards.i18n import in_every_language
from cards.nudge import meeting_dismissed_card
from kam.digest import DIGEST_DAYS, OFF, set_digest_day
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


def _day_named(text: str) -> str | None:
    """The digest day a user typed, in any language we speak ("friday", "fr", "off", "aus"); None if none."""
    wanted = text.strip().lower()
    return next((day for day in DIGEST_DAYS if wanted in in_every_language(f"digest.day.{day}")), None)


async def digest_day(turn: Turn, request: CommandRequest) -> None:
    """`digest friday` moves the person's weekly digest to Friday, `digest off` stops it; `digest` says when."""
    wanted = argument_of(turn.command, "command.digest")
    day = _day_named(wanted) if wanted else None
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if person is None:
            raise UnknownPerson()
        if day is not None:
            set_digest_day(person, day)
        chosen = person.digest_day
    if wanted and day is None:
        await turn.say(turn.t("digest.day.unknown", text=echoed(wanted)))
    elif chosen == OFF:
        await turn.say(turn.t("digest.day.stopped"))
    elif chosen is None:
        await turn.say(turn.t("digest.day.default"))
    else:
        await turn.say(turn.t("digest.day.set", day=turn.t(f"weekday.{chosen}")))


async def not_relevant(turn: Turn, request: VerbRequest) -> Reply:
    """ "Not relevant" on a meeting nudge: never asked about that meeting again (only its addressee: the router)."""
    nudge = await dismiss(request.session, request.row.id, request.person)
    return Reply(card=meeting_dismissed_card(turn.t, nudge.subject))
