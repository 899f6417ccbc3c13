"""Which account a turn is about, among those the router offers: the channel's, the only one, a picker or a name."""

from __future__ import annotations

from bot.new_forms import FormBuilder, form_context
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn, argument_of
from cards.build import echoed
from cards.fit import names_text
from cards.forms import FormState, Option, account_picker_card
from kam.access import Act, Audience, team_accounts
from kam.accounts import accounts_of
from kam.models import Account
from kam.outbox import request_form


def options(accounts: list[Account]) -> list[Option]:
    return [Option(a.id, a.name) for a in accounts]


async def named_account(turn: Turn, request: CommandRequest, command_key: str, which_key: str) -> Account | None:
    """In a channel: its account. In a chat: the account named after the command, or the only one.

    None when the user was told why there is no single account.
    """
    mine = list(request.accounts)
    if turn.channel_id is not None or len(mine) == 1:
        return mine[0]
    wanted = argument_of(turn.command, command_key) or ""
    chosen = [a for a in mine if wanted in a.name.lower()] if wanted else mine
    if len(chosen) == 1:
        return chosen[0]
    names = names_text(turn.t, [a.name for a in mine])
    await turn.say(
        turn.t("timeline.no_match", text=echoed(wanted), names=names)
        if wanted and not chosen
        else turn.t(which_key, names=names)
    )
    return None


async def start_form(turn: Turn, request: CommandRequest, purpose: str, build: FormBuilder) -> None:
    """A form for the channel's account or the user's only one; else first the account picker.

    Asked for where others read along (a channel, a group chat), the form goes to the caller's 1:1 chat:
    a channel holds what was logged, not everyone's forms (the thread hears where the form went).
    """
    accounts = list(request.accounts)
    if turn.audience == Audience.SHARED and request.person is not None:
        if request.person.unreachable_since is not None:  # Teams refused to open their 1:1 chat lately
            await turn.say(turn.t("form.open_chat_first"))
            return
        async with turn.services.db.transaction() as session:
            request_form(session, request.person, accounts, purpose)
        turn.services.sender.kick()
        await turn.say(turn.t("form.sent_to_chat"))
        return
    if len(accounts) == 1:
        async with turn.services.db.transaction() as session:
            context = await form_context(session, accounts[0], turn.services.catalogue, turn.t.language)
        await turn.show(build(turn.t, context, turn.today, None, None))
    else:
        await turn.show(account_picker_card(turn.t, options(accounts), turn.today, purpose=purpose))


async def pick_form(
    turn: Turn, request: VerbRequest, purpose: str, build: FormBuilder, state: FormState | None = None
) -> Reply:
    """The account was chosen on the picker: the form takes the picker's place, under the same card id.

    Nothing chosen: the picker again, offering the accounts the caller may log for.
    """
    account = request.account
    if account is None:
        mine = team_accounts(await accounts_of(request.session, request.person), request.principal, Act.LOG)
        error = turn.t("pick.required")
        picker = account_picker_card(
            turn.t, options(mine), turn.today, error, purpose=purpose, card_id=request.meta.card_id
        )
        return Reply(card=picker)
    context = await form_context(request.session, account, turn.services.catalogue, turn.t.language)
    return Reply(card=build(turn.t, context, turn.today, state, request.meta.card_id))
