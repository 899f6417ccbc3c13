"""What this process stored last about each conversation and caller, so a repeat turn skips the write.

Every turn carries the conversation's reference and, in a 1:1 chat, the caller's chat id, language
and time zone. They rarely change, and reading them back to compare costs a transaction per turn;
here the turn is compared with what this process committed last. Another instance may have stored
something newer meanwhile: then this one's next differing turn stores its own again, as without
the cache. Bounded, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RecentlyStored:
    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._stored: OrderedDict[Hashable, Hashable] = OrderedDict()

    def unchanged(self, key: Hashable, state: Hashable) -> bool:
        if self._stored.get(key) != state:
            return False
        self._stored.move_to_end(key)
        return True

    def note(self, key: Hashable, state: Hashable) -> None:
        self._stored[key] = state
        self._stored.move_to_end(key)
        while len(self._stored) > self._capacity:
            self._stored.popitem(last=False)
