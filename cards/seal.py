"""Card data signed by kambot, bound to whom the card was issued.

Every action on a card kambot sends carries data (a verb, a card id, an account or item
id); a client can send anything back. Sealing adds an HMAC over the data kambot put in
(`sk` names those keys, so the inputs Teams merges in are left out) and over the
principal the card was issued to: the user's Entra object id for a form, `ANYONE` for
buttons that anyone on the account team may press (the channel post's Acknowledge).

So a card id copied from a channel, a counted-up item id or a form replayed by someone
else fails the check before anything is looked up, and the rightful author's own
submit is never blocked by it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

ANYONE = "*"
SEALED_KEYS = "sk"
SIGNATURE = "sig"
FORM_VERSION = 1
_META = ("verb", "card_id")


def _mac(key: bytes, principal: str, data: Mapping[str, Any], keys: list[str]) -> str:
    payload = json.dumps([principal, [[k, data.get(k)] for k in keys]], separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:32]


def _action_data(node: Any) -> list[dict[str, Any]]:
    """Every action data dict in a card (actions, fallbacks, action sets, refresh), found by its verb."""
    found: list[dict[str, Any]] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            data = current.get("data")
            if isinstance(data, dict) and isinstance(data.get("verb"), str):
                found.append(data)
            pending.extend(v for k, v in current.items() if k != "data")
        elif isinstance(current, list):
            pending.extend(current)
    return found


def card_id_of(card: Mapping[str, Any]) -> str | None:
    """The one id all actions of a sealed card share (the form's idempotency key)."""
    return next((d["card_id"] for d in _action_data(card) if isinstance(d.get("card_id"), str)), None)


def verbs_of(card: Mapping[str, Any]) -> set[str]:
    return {d["verb"] for d in _action_data(card)}


def seal(card: dict[str, Any], key: bytes, today: dt.date, principal_for: Callable[[str], str]) -> dict[str, Any]:
    """Sign every action's data in place; `principal_for(verb)` says to whom each is bound.

    All actions of one card share its card id (a form and the picker before it keep it).
    """
    datas = _action_data(card)
    card_id = next((d["card_id"] for d in datas if isinstance(d.get("card_id"), str)), None) or uuid.uuid4().hex
    for data in datas:
        data.pop(SIGNATURE, None)
        data.pop(SEALED_KEYS, None)
        data["card_id"] = card_id
        data.setdefault("v", FORM_VERSION)
        data.setdefault("issued", today.isoformat())
        keys = sorted(data)
        data[SEALED_KEYS] = ",".join(keys)
        data[SIGNATURE] = _mac(key, principal_for(data["verb"]), data, [*keys, SEALED_KEYS])
    return card


def verify(value: Mapping[str, Any], key: bytes, principals: tuple[str, ...]) -> bool:
    """Whether `value` holds data kambot sealed, for one of `principals`, unchanged."""
    keys = value.get(SEALED_KEYS)
    signature = value.get(SIGNATURE)
    if not isinstance(keys, str) or not isinstance(signature, str) or len(keys) > 2000:
        return False
    names = keys.split(",")
    if not all(name in value for name in names) or not all(name in names for name in _META):
        return False
    return any(
        hmac.compare_digest(_mac(key, principal, value, [*names, SEALED_KEYS]), signature) for principal in principals
    )
