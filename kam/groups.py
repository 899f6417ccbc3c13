"""Customer groups: the legal entities of one customer (its US subsidiary, its European one) as one group.

An account's `customer_group` names its group, usually the parent account's name. Groups are
followed to their top: an account naming a parent that itself names a group is in that group too,
so every entity of a customer sees the same group whichever of them asks. Names are compared
case-folded in Python ("Öl AG" and "öl ag" are one), never by the database's `lower()`, which
folds only ASCII on SQLite. The framework agreement, paid service and price checks look across
the group (kam.checks); everything else stays per account, as its team does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account


@dataclass(frozen=True)
class Named:
    id: int
    name: str
    customer_group: str | None


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def group_keys(accounts: Iterable[Named | Account]) -> dict[int, str]:
    """Each account's group: the top of the chain of groups it names (its own name when it names none)."""
    listed = list(accounts)
    by_name = {_key(a.name): a for a in listed}
    keys: dict[int, str] = {}
    for account in listed:
        chain: dict[int, str] = {}
        current = account
        while current.customer_group and current.id not in chain:
            chain[current.id] = _key(current.name)
            parent = by_name.get(_key(current.customer_group))
            if parent is None:
                keys[account.id] = _key(current.customer_group)
                break
            current = parent
        else:
            # The top, or a circle of groups naming each other: the same name for all of them.
            circle = list(chain)[list(chain).index(current.id) :] if current.id in chain else []
            keys[account.id] = min(chain[i] for i in circle) if circle else _key(current.name)
    return keys


async def group_of(session: AsyncSession, account: Account) -> list[Account]:
    """The active accounts of `account`'s group, `account` among them (alone, for an account in no group)."""
    rows = await session.execute(
        select(Account.id, Account.name, Account.customer_group).where(Account.active.is_(True))
    )
    named = [Named(*row) for row in rows]
    if not any(n.customer_group for n in named):
        return [account]
    keys = group_keys([*named, Named(account.id, account.name, account.customer_group)])
    ids = {i for i, key in keys.items() if key == keys[account.id]} | {account.id}
    if ids == {account.id}:
        return [account]
    found = await session.scalars(select(Account).where(Account.id.in_(ids)).order_by(Account.name))
    return list(found)


def groups(accounts: Iterable[Account]) -> dict[str, list[Account]]:
    """`accounts` by group (an account in no group, and no group's parent, is a group of one)."""
    listed = list(accounts)
    keys = group_keys(listed)
    found: dict[str, list[Account]] = {}
    for account in listed:
        found.setdefault(keys[account.id], []).append(account)
    return found
