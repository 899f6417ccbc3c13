"""The key that signs card data, and which verbs bind a card to the person it was issued to."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cards.seal import ANYONE, card_id_of, seal, verbs_of, verify
from kam.secrets import CARD_KEY, shared_secret
from kam.storage import Database


class Sealer:
    """Seals what kambot sends and checks what comes back. `bound` verbs are forms: only whoever the
    card was issued to may submit them; the other verbs' buttons are for anyone who may act on them."""

    def __init__(self, bound: frozenset[str], secret: str = "") -> None:
        self._bound = bound
        self._key = hashlib.sha256(secret.encode()).digest() if secret else b""

    async def ready(self, db: Database) -> None:
        """Without a configured secret, the one every instance shares through the database (read once).

        Called at start-up and before each turn and delivery: an instance started before its
        database was migrated (alive, not ready) loads it once the schema is there.
        """
        if not self._key:
            async with db.transaction() as session:
                self._key = hashlib.sha256((await shared_secret(session, CARD_KEY)).encode()).digest()

    @property
    def key(self) -> bytes:
        if not self._key:
            raise RuntimeError("the card key is not loaded yet (Sealer.ready)")
        return self._key

    def is_bound(self, verb: str) -> bool:
        return verb in self._bound

    def seal(self, card: dict[str, Any], principal: str | None, today: dt.date) -> dict[str, Any]:
        """`principal`: the person the card goes to (None: a shared place, where forms are not sent)."""
        return seal(card, self.key, today, lambda verb: (principal or ANYONE) if verb in self._bound else ANYONE)

    def verify(self, value: Mapping[str, Any], principal: str) -> bool:
        verb = value.get("verb")
        principals = (principal,) if verb in self._bound else (ANYONE,)
        return bool(principal) and verify(value, self.key, principals)

    @staticmethod
    def card_id(card: Mapping[str, Any]) -> str | None:
        return card_id_of(card)

    def form_id(self, card: Mapping[str, Any]) -> str | None:
        """The card id of a card holding a form (a bound verb): the one kind a submit may update in place.
        Buttons anyone may press (Acknowledge) are Universal Actions: their answer replaces the card itself."""
        return card_id_of(card) if verbs_of(card) & self._bound else None
