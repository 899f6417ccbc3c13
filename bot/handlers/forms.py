"""One save pipeline for every form: parse, store once, answer; a second submit of a stored form is a replay.

A feature describes its form once (`SaveForm`): how its submission is parsed (cards/), how
the form is shown again with the errors, how the command is stored (kam/), and the card
that replaces the form. The pipeline does the rest the same way for every form: bad input
loses nothing and writes nothing, a known conflict becomes a message under its field,
and a stored form submitted again answers with what was stored, to its author only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.new_forms import FormBuilder, form_context
from bot.requests import VerbRequest
from bot.turn import Reply, Turn
from cards.forms import FormState, form_state
from kam.errors import Refused
from kam.models import Account

Command = TypeVar("Command")
Stored = TypeVar("Stored")
Logged = TypeVar("Logged", bound="Authored")


class Authored(Protocol):
    logged_by_id: int


@dataclass(frozen=True)
class SaveForm(Generic[Command, Stored]):
    parse: Callable[[Turn, VerbRequest], Command | FormState]
    form: Callable[[Turn, VerbRequest, FormState], Awaitable[dict[str, Any]]]
    store: Callable[[Turn, VerbRequest, Command], Awaitable[Stored]]
    answer: Callable[[Turn, VerbRequest, Command, Stored], Awaitable[dict[str, Any]]]
    # Stored items others must hear of: the outbox is kicked once the transaction is committed.
    notify: bool = True
    fields: Sequence[str] = ()
    # A conflict kam/ raises on store, shown under a field: exception → (field, message key).
    conflicts: Mapping[type[Exception], tuple[str, str]] = field(default_factory=dict)

    async def save(self, turn: Turn, request: VerbRequest) -> Reply:
        parsed = self.parse(turn, request)
        if isinstance(parsed, FormState):
            return Reply(card=await self.form(turn, request, parsed))
        try:
            stored = await self.store(turn, request, parsed)
        except tuple(self.conflicts) as conflict:
            name, key = self.conflicts[type(conflict)]
            state = form_state(request.value, self.fields)
            state.errors[name] = turn.t(key)
            return Reply(card=await self.form(turn, request, state))
        return Reply(card=await self.answer(turn, request, parsed, stored), notify=self.notify)


@dataclass(frozen=True)
class Replay(Generic[Logged]):
    """The same form submitted again: what was stored under its card id, for its author only."""

    find: Callable[[AsyncSession, str], Awaitable[Logged | None]]
    answer: Callable[[Turn, VerbRequest, Logged], Awaitable[Reply]]

    async def __call__(self, turn: Turn, request: VerbRequest) -> Reply:
        existing = await self.find(request.session, request.meta.card_id)
        author = request.person
        if existing is None or author is None or existing.logged_by_id != author.id:
            raise Refused()
        return await self.answer(turn, request, existing)


def the_account(request: VerbRequest) -> Account:
    """The account a form's route names (the router looked it up and the policy allowed it)."""
    account = request.account
    assert account is not None, "the route names its account"
    return account


def account_form(build: FormBuilder) -> Callable[[Turn, VerbRequest, FormState], Awaitable[dict[str, Any]]]:
    """A form about one account, shown again with its errors, under the same card id."""

    async def form(turn: Turn, request: VerbRequest, state: FormState) -> dict[str, Any]:
        context = await form_context(request.session, the_account(request), turn.services.catalogue, turn.t.language)
        return build(turn.t, context, turn.today, state, request.meta.card_id)

    return form
