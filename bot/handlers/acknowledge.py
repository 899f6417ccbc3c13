"""Acknowledge, the card refresh that shows each person their own view, and ending a framework agreement."""

from __future__ import annotations

from bot.items import item_card
from bot.requests import VerbRequest, item_of
from bot.turn import Reply, Turn
from kam.acknowledgements import acknowledge
from kam.checks import end_framework_agreement
from kam.models import Flag, ItemKind


async def _card(turn: Turn, request: VerbRequest, item: tuple[ItemKind, int]) -> Reply:
    account = request.account
    assert account is not None, "the route names its account"
    card = await item_card(
        request.session, turn.t, account, item, request.person, audience=turn.audience, links=turn.services.links
    )
    return Reply(card=card)


def _item(request: VerbRequest) -> tuple[ItemKind, int]:
    assert request.subject.item_kind is not None, "the route names an item"
    return request.subject.item_kind, request.row.id


async def acknowledge_item(turn: Turn, request: VerbRequest) -> Reply:
    """Record that the clicker has taken note (asked or not); the card then shows who has."""
    account = request.account
    assert account is not None, "the route names its account"
    await acknowledge(request.session, account, _item(request), request.person)
    return await _card(turn, request, _item(request))


async def view(turn: Turn, request: VerbRequest) -> Reply:
    """The refresh of a card: the same item, as the person looking at it should see it now."""
    return await _card(turn, request, _item(request))


async def end_agreement(turn: Turn, request: VerbRequest) -> Reply:
    """The owner or the KA manager says a framework agreement has ended: later ones no longer clash with it."""
    flag: Flag = request.row
    end_framework_agreement(flag)
    item = item_of(request.value)  # the card the button was on; checked against the account as it renders
    return await _card(turn, request, item) if item else Reply(message=turn.t("flag.ended"))
