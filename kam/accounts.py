"""Key accounts and their teams."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.errors import AccountNotFound, NotOnAccountTeam
from kam.models import Account, AccountMember, Person, Role


async def accounts_of(session: AsyncSession, person: Person | None) -> list[Account]:
    """The accounts whose team the person is on, by name."""
    if person is None:
        return []
    rows = await session.scalars(
        select(Account)
        .join(AccountMember, AccountMember.account_id == Account.id)
        .where(AccountMember.person_id == person.id)
        .order_by(Account.name)
    )
    return list(rows.unique())


async def account_for_channel(session: AsyncSession, channel_id: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.channel_id == channel_id))


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound()
    return account


def role_of(account: Account, person: Person | None) -> Role | None:
    if person is None:
        return None
    for member in account.members:
        if member.person_id == person.id:
            return member.role
    return None


def require_team_member(account: Account, person: Person | None) -> Role:
    """Anyone on the account's team may log; everyone else is refused."""
    role = role_of(account, person)
    if role is None:
        raise NotOnAccountTeam(account.name)
    return role


def managers_of(account: Account) -> list[Person]:
    """The KA managers: they must know about every contact with the customer."""
    return [member.person for member in account.members if member.role == Role.MANAGER]
