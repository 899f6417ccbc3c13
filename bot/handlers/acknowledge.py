"""Acknowledge, the card refresh that shows each person their own view, ending a framework agreement, and
marking a conflict "not a conflict".

On a card that carries several requests, each item's button acknowledges that item (the router checked the
caller may, as for any Acknowledge) and answers with the card as it is then: what is left to acknowledge.
"""

from __future__ import annotations

from dataclasses import replace

from bot.ack_batch import batch_card
from bot.items import item_card
from bot.requests import VerbRequest, item_of
from bot.turn import Reply, Turn
from cards.ack_batch import read_batch_id
from cards.acknowledge import DISMISS_REASON_MAX, REASON_INPUT
from kam.acknowledgements import acknowledge
from kam.checks import dismiss_conflict as dismiss_conflict_of
from kam.checks import end_framework_agreement
from kam.models import Flag, ItemKind
from kam.text import clean_text


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


async def dismiss_conflict(turn: Turn, request: VerbRequest) -> Reply:
    """Someone the conflict names says it is none, and why (required: the KA manager reads it)."""
    flag: Flag = request.row
    account, person = request.account, request.person
    assert account is not None and person is not None, "the route names its account; the policy knows the caller"
    raw = request.value.get(REASON_INPUT.format(flag_id=flag.id))
    if isinstance(raw, str) and len(raw) > DISMISS_REASON_MAX * 2:  # cleaning drops invisible characters only
        return Reply(message=turn.t("field.too_long", max=DISMISS_REASON_MAX, length=len(raw)))
    reason = clean_text(raw) if isinstance(raw, str) else ""
    if not reason:
        return Reply(message=turn.t("flag.dismiss.need_reason"))
    if len(reason) > DISMISS_REASON_MAX:
        return Reply(message=turn.t("field.too_long", max=DISMISS_REASON_MAX, length=len(reason)))
    await dismiss_conflict_of(request.session, flag, account, person, reason)
    item = item_of(request.value)  # the card the button was on; checked against the account as it renders
    reply = await _card(turn, request, item) if item else Reply(message=turn.t("flag.dismissed.done"))
    return replace(reply, notify=True)  # the KA managers' cards go once this is committed


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
