"""Customer groups: the legal entities of one customer (its US subsidiary, its European one) as one group.

An account's `customer_group` names its group, usually the parent account's name; the parent
itself belongs to the group its name names. The framework agreement and price checks look across
the group (kam.checks); everything else stays per account, as its team does.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account


def group_key(account: Account) -> str:
    """The group an account is in: the one it names, else the one its own name would be (a parent's)."""
    return (account.customer_group or account.name).strip().lower()


async def group_of(session: AsyncSession, account: Account) -> list[Account]:
    """The active accounts of `account`'s group, `account` among them (alone, for an account in no group)."""
    key = group_key(account)
    query = select(Account).where(
        Account.active.is_(True),
        or_(func.lower(Account.customer_group) == key, func.lower(Account.name) == key, Account.id == account.id),
    )
    return list(await session.scalars(query.order_by(Account.name)))


def groups(accounts: Iterable[Account]) -> dict[str, list[Account]]:
    """`accounts` by group (an account in no group, and no group's parent, is a group of one)."""
    found: dict[str, list[Account]] = {}
    for account in accounts:
        found.setdefault(group_key(account), []).append(account)
    return found
