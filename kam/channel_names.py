"""Channel names within Teams' rules, made unique in a predictable way."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_LENGTH = 50
# Teams refuses these in channel names: # % & * { } / \ : < > ? + | ' "
_FORBIDDEN = re.compile(r"[#%&*{}/\\:<>?+|'\"\x00-\x1f\x7f]")
ARCHIVED_PREFIX = "Archived - "


def channel_name(account_name: str) -> str:
    """The account's name as a channel name: forbidden characters become '-', at most 50 characters.

    A channel name cannot start with '_' or '.' nor end with '.', and "General" is taken by every team.
    """
    name = unicodedata.normalize("NFC", account_name)
    name = _FORBIDDEN.sub("-", name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"-{2,}", "-", name).strip(" -")
    name = name.lstrip("_.").rstrip(".").strip()
    name = name[:MAX_LENGTH].rstrip(" .-")
    if not name or name.lower() == "general":
        name = f"Account {name}".strip() if name else "Account"
    return name


def unique_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base (2)`, `base (3)`, ... shortened to fit: the first free one, case-insensitively."""
    used = {t.lower() for t in taken}
    if base.lower() not in used:
        return base
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = base[: MAX_LENGTH - len(suffix)].rstrip(" .-") + suffix
        if candidate.lower() not in used:
            return candidate
        number += 1


def archived_name(name: str, taken: Iterable[str]) -> str:
    return unique_name((ARCHIVED_PREFIX + name)[:MAX_LENGTH].rstrip(" .-"), taken)
