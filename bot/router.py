"""The one place where the bot's surface asks the access policy: commands, card verbs, invokes.

For a card verb: the data must be kambot's own (sealed; a form's bound to whoever submits
it), its ids are looked up (kam.subjects), and the policy decides (kam.access), all in
the transaction the handler then works in; the handler never decides access itself.
For a command: the accounts it may be about are worked out here (the channel's, or the
caller's own on which they may act), and refused the same way for everything else.
For a pasted link: the account it names is looked up and checked as a card's ids are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import traces
from bot.requests import CommandRequest, SubjectOf, VerbRequest
from bot.routes import CommandRoute, InvokeRoute, VerbHandler, VerbRoute, verb_route
from bot.turn import Reply, Turn
from cards.forms import CardMeta, read_meta
from kam.access import RULES, Act, Audience, Place, Principal, Subject, nameable, require, team_accounts
from kam.accounts import account_for_channel, accounts_of, team_roles
from kam.errors import DuplicateSubmission, NotAllowed, Refused
from kam.models import Person
from kam.people import find_person
from kam.subjects import Found


class Unanswerable(Exception):
    """The turn cannot go on; `key` names what the user is told."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def principal_of(session: AsyncSession, turn: Turn, act: Act, among: Iterable[Person] = ()) -> Principal:
    person = await find_person(session, turn.caller, among)
    settings, caller = turn.services.settings, turn.caller.aad_object_id
    is_admin = bool(caller) and caller in settings.admin_aad_ids
    is_head = bool(caller) and caller in settings.head_of_kam_aad_ids
    roles = await team_roles(session, person) if not RULES[act].account else frozenset()
    return Principal(person, is_admin=is_admin, any_roles=roles, is_head_of_kam=is_head)


async def place_of(session: AsyncSession, turn: Turn) -> Place:
    """Who reads along, and whose account channel this is: a card of another account stays out of it."""
    channel_account = await account_for_channel(session, turn.channel_id) if turn.channel_id else None
    return Place(turn.audience, channel_account.id if channel_account else None)


async def run_verb(turn: Turn, value: object) -> Reply:
    """A card action, from its raw data: malformed, stale, not ours or not allowed is answered, never run."""
    route = verb_route(value)
    if route is None or not isinstance(value, Mapping):
        key = "error.stale_card" if isinstance(value, Mapping) and "verb" in value else "error.malformed"
        return Reply(message=turn.t(key))
    traces.ran_verb(route.verb)
    max_age = turn.services.settings.form_max_age_days if route.bound else None
    meta = read_meta(value, today=turn.today, max_age_days=max_age)
    if not turn.services.sealer.verify(value, turn.principal):
        return Reply(message=turn.t("error.not_your_form" if route.bound else "error.refused"))
    try:
        reply = await _verb_once(turn, route, value, meta, route.handler)
    except DuplicateSubmission:
        if route.replay is None:
            raise
        reply = await _verb_once(turn, route, value, meta, route.replay)
    if reply.notify:
        turn.services.sender.kick()
    return reply


async def _looked_up(
    session: AsyncSession, turn: Turn, act: Act, subject: SubjectOf, value: Mapping[str, Any]
) -> tuple[Found, Principal, Place]:
    """What the ids name, who asks, and where; Refused when the ids name nothing that fits.

    The ids first: the account they name comes with its team, among whom the caller usually is.
    A refused subject is refused after the same queries as one that exists: their number tells nothing.
    """
    found: Found | Refused
    try:
        found = await subject(session, value)
    except Refused as refused:
        found = refused
    account = found.subject.account if isinstance(found, Found) else None
    principal = await principal_of(session, turn, act, [m.person for m in account.members] if account else [])
    place = await place_of(session, turn)
    if isinstance(found, Refused):
        raise found
    return found, principal, place


async def _verb_once(
    turn: Turn, route: VerbRoute, value: Mapping[str, Any], meta: CardMeta, handler: VerbHandler
) -> Reply:
    async with turn.services.db.transaction() as session:
        found, principal, place = await _looked_up(session, turn, route.act, route.subject, value)
        if not (route.optional_account and found.subject.account is None):
            require(principal, route.act, found.subject, place)
        return await handler(turn, VerbRequest(session, value, meta, principal, place, found))


async def linked_request(turn: Turn, route: InvokeRoute, value: Mapping[str, Any]) -> CommandRequest:
    """The one account an invoke's value names (a pasted link's), if the caller may see it here.

    What it shows goes into the message being written, in whatever conversation: it counts as
    shared even in a 1:1 chat, so a confidential account is not named. Refused, after the same
    queries, for an account that does not exist, is not the caller's, belongs to another
    account's channel or is confidential.
    """
    assert route.subject is not None, f"{route.name} names no subject"
    async with turn.services.db.transaction() as session:
        found, principal, place = await _looked_up(session, turn, route.act, route.subject, value)
        require(principal, route.act, found.subject, place)
        account = found.subject.account
        if account is None or not nameable([account], Audience.SHARED):
            raise Refused()
        return CommandRequest(principal, [account])


async def command_request(
    turn: Turn, act: Act, *, about_account: bool, unlinked_channel_as_chat: bool = False, purpose: str = ""
) -> CommandRequest:
    """Who asks, and the accounts a command (or an invoke) may be about.

    In an account's channel only that account; elsewhere the caller's own. Unanswerable when
    there is nothing it can be about (a channel of no account, unless it counts as a chat; no accounts).
    `purpose` (the command, as "log_decision") picks the words for someone on no team: what they cannot do.
    """
    async with turn.services.db.transaction() as session:
        principal = await principal_of(session, turn, act)
        if not about_account:
            require(principal, act)
            return CommandRequest(principal)
        account = await account_for_channel(session, turn.channel_id) if turn.channel_id is not None else None
        if turn.channel_id is not None and account is None and not unlinked_channel_as_chat:
            raise Unanswerable("error.channel_not_linked")
        if account is not None:
            require(principal, act, Subject(account=account), Place(turn.audience, account.id))
            return CommandRequest(principal, [account])
        mine = await accounts_of(session, principal.person)
        allowed = team_accounts(mine, principal, act)
        if not allowed:
            if mine:
                raise NotAllowed(act.value)
            raise Unanswerable(f"error.no_accounts.{purpose}" if purpose else "error.no_accounts")
        return CommandRequest(principal, allowed)


async def run_command(turn: Turn, route: CommandRoute) -> None:
    traces.ran_command(route.key)
    try:
        purpose = route.key.removeprefix("command.")
        request = await command_request(turn, route.act, about_account=route.about_account, purpose=purpose)
    except Unanswerable as stop:
        await turn.say(turn.t(stop.key))
        return
    await route.handler(turn, request)
