"""add stakeholder, edit stakeholder, relationship and stakeholders: the customer's people, how well each of ours
knows them, and the relationship map."""

from __future__ import annotations

from typing import Any

from bot.handlers.forms import SaveForm, account_form, the_account
from bot.handlers.resolve import named_account, pick_form, start_form
from bot.new_forms import form_context
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn, argument_of
from cards.build import ECHO_WIDTH, echoed
from cards.fit import names_text
from cards.forms import FormState, Option
from cards.stakeholders import (
    FIELDS,
    StakeholderLine,
    StrengthForm,
    parse_stakeholder,
    parse_strength,
    relationship_map_card,
    stakeholder_added_card,
    stakeholder_form_card,
    stakeholder_values,
    strength_card,
    strength_saved_card,
)
from kam.access import Act, Audience, Subject, is_allowed
from kam.accounts import get_account, stakeholders_of
from kam.models import Account, Stakeholder
from kam.stakeholders import (
    AddStakeholder,
    ReportsToCycle,
    StakeholderEmailExists,
    StakeholderExists,
    TooManyInfluences,
    UnknownInfluence,
    UnknownReportsTo,
    add_stakeholder,
    hand_set_strength,
    influenced_by,
    relationship_picture,
    set_strength,
)

# What kam refuses on saving a customer person, under the field to fix.
CONFLICTS: dict[type[Exception], tuple[str, str]] = {
    StakeholderExists: ("name", "error.stakeholder_exists"),
    StakeholderEmailExists: ("email", "error.stakeholder_email_exists"),
    ReportsToCycle: ("reports_to", "error.reports_to_cycle"),
    UnknownReportsTo: ("reports_to", "field.bad_choice"),
    UnknownInfluence: ("influences", "field.bad_choice"),
    TooManyInfluences: ("influences", "stakeholder.form.influences_max"),
}


async def add_start(turn: Turn, request: CommandRequest) -> None:
    await start_form(turn, request, "stakeholder", stakeholder_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    return await pick_form(turn, request, "stakeholder", stakeholder_form_card)


def _parse(turn: Turn, request: VerbRequest) -> AddStakeholder | FormState:
    return parse_stakeholder(turn.t, request.value, author=request.person, account_id=the_account(request).id)


def _parse_edit(turn: Turn, request: VerbRequest) -> AddStakeholder | FormState:
    account_id, edited = the_account(request).id, request.row.id
    return parse_stakeholder(turn.t, request.value, author=request.person, account_id=account_id, stakeholder_id=edited)


async def _edit_form(turn: Turn, request: VerbRequest, state: FormState) -> dict[str, Any]:
    context = await form_context(request.session, the_account(request), turn.services.catalogue, turn.t.language)
    return stakeholder_form_card(turn.t, context, turn.today, state, request.meta.card_id, editing=request.row.id)


async def _store(turn: Turn, request: VerbRequest, command: AddStakeholder) -> Stakeholder:
    return await add_stakeholder(request.session, command)


async def _answer(turn: Turn, request: VerbRequest, command: AddStakeholder, saved: Stakeholder) -> dict[str, Any]:
    edited = command.stakeholder_id is not None
    return stakeholder_added_card(turn.t, the_account(request).name, command.name, edited=edited)


save = SaveForm(
    _parse, account_form(stakeholder_form_card), _store, _answer, notify=False, fields=FIELDS, conflicts=CONFLICTS
).save
save_edit = SaveForm(_parse_edit, _edit_form, _store, _answer, notify=False, fields=FIELDS, conflicts=CONFLICTS).save


async def _named_stakeholder(
    turn: Turn, request: CommandRequest, command_key: str
) -> tuple[Account, Stakeholder] | None:
    """The customer person named after the command, among the accounts the router offers (the channel's, or the
    caller's own); None when the caller was told why there is not exactly one. Forms open in the 1:1 chat only."""
    if turn.audience == Audience.SHARED:
        await turn.say(turn.t("stakeholder.edit.in_chat"))
        return None
    wanted = (argument_of(turn.command, command_key) or "").casefold()
    if not wanted:
        await turn.say(turn.t(f"{command_key}.which"))
        return None
    found: list[tuple[Account, Stakeholder]] = []
    async with turn.services.db.transaction() as session:
        for account in request.accounts:
            found += [(account, s) for s in await stakeholders_of(session, account.id) if wanted in s.name.casefold()]
    exact = [(a, s) for a, s in found if s.name.casefold() == wanted]
    found = exact if len(exact) == 1 else found
    if len(found) == 1:
        return found[0]
    if not found:
        await turn.say(turn.t("stakeholder.edit.none", text=echoed(wanted)))
    else:
        at = [turn.t("stakeholder.edit.at", name=echoed(s.name), account=echoed(a.name)) for a, s in found]
        names = names_text(turn.t, at, width=2 * ECHO_WIDTH)
        await turn.say(turn.t("stakeholder.edit.several", names=names))
    return None


async def edit_start(turn: Turn, request: CommandRequest) -> None:
    named = await _named_stakeholder(turn, request, "command.edit_stakeholder")
    if named is None:
        return
    account, stakeholder = named
    async with turn.services.db.transaction() as session:
        account = await get_account(session, account.id)
        state = stakeholder_values(stakeholder, await influenced_by(session, stakeholder.id))
        context = await form_context(session, account, turn.services.catalogue, turn.t.language)
    await turn.show(stakeholder_form_card(turn.t, context, turn.today, state, editing=stakeholder.id))


async def strength_start(turn: Turn, request: CommandRequest) -> None:
    """A member sets their own relationship's strength; a KA manager anyone's on the team (the policy says whose)."""
    named = await _named_stakeholder(turn, request, "command.relationship")
    person = request.person
    if named is None or person is None:
        return
    account, stakeholder = named
    async with turn.services.db.transaction() as session:
        account = await get_account(session, account.id)
        current = await hand_set_strength(session, stakeholder.id, person.id)
    whose = [
        Option(m.person_id, m.person.name)
        for m in account.members
        if is_allowed(request.principal, Act.SET_STRENGTH, Subject(account=account, owner_ids=frozenset({m.person_id})))
    ]
    form = StrengthForm(account.id, account.name, stakeholder.id, stakeholder.name, whose, person.id, current)
    await turn.show(strength_card(turn.t, form, turn.today))


async def strength_save(turn: Turn, request: VerbRequest) -> Reply:
    account, stakeholder = the_account(request), request.row
    (person_id,) = request.subject.owner_ids
    strength = parse_strength(request.value)
    assert request.person is not None, "the policy let only a person of the team here"
    await set_strength(request.session, account, stakeholder.id, person_id, strength, request.person)
    name = next(m.person.name for m in account.members if m.person_id == person_id)
    return Reply(card=strength_saved_card(turn.t, stakeholder.name, name, strength))


async def show_map(turn: Turn, request: CommandRequest) -> None:
    account = await named_account(turn, request, "command.stakeholders", "stakeholders.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        account = await get_account(session, account.id)
        picture = await relationship_picture(session, account, turn.today)
        lines = [
            StakeholderLine(
                c.stakeholder.name,
                c.stakeholder.title or "",
                c.stakeholder.level,
                c.stakeholder.attitude,
                c.stakeholder.owner.name if c.stakeholder.owner else "",
                c.last_met,
                c.met_by,
                c.covered,
            )
            for c in picture.coverage
        ]
    tab_url = turn.services.links.to(account, "stakeholders")
    await turn.show(relationship_map_card(turn.t, account.name, picture.model, lines, tab_url))
