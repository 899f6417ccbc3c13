"""Acknowledge, the card refresh that shows each person their own view, and ending a framework agreement.

On a card that carries several requests, each item's button acknowledges that item (the router checked the
caller may, as for any Acknowledge) and answers with the card as it is then: what is left to acknowledge.
"""

from __future__ import annotations

from bot.ack_batch import batch_card
from bot.items import item_card
from bot.requests import VerbRequest, item_of
from bot.turn import Reply, Turn
from cards.ack_batch import read_batch_id
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


async def _batch(turn: Turn, request: VerbRequest) -> Reply:
    card_row_id = read_batch_id(request.value)
    card = await batch_card(request.session, turn.t, card_row_id, request.person, audience=turn.audience)
    return Reply(card=card)


async def acknowledge_in_batch(turn: Turn, request: VerbRequest) -> Reply:
    """Acknowledge one item of a card that asked for several; the card then shows what is left."""
    account = request.account
    assert account is not None, "the route names its account"
    read_batch_id(request.value)  # a malformed card is answered before anything is written
    await acknowledge(request.session, account, _item(request), request.person)
    return await _batch(turn, request)


async def view_batch(turn: Turn, request: VerbRequest) -> Reply:
    """The refresh of a card that asked for several acknowledgements: the caller's own requests on it, as they are
    now (someone else's card shows them nothing of it)."""
    return await _batch(turn, request)
