"""Key accounts and their teams."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.errors import AccountExists, AccountNotFound, NotAllowed, NotOnAccountTeam
from kam.models import Account, AccountMember, Person, Role, Tier


async def accounts_of(session: AsyncSession, person: Person | None) -> list[Account]:
    """The active accounts whose team the person is on, by name (those that left the list are kept, not offered)."""
    if person is None:
        return []
    rows = await session.scalars(
        select(Account)
        .join(AccountMember, AccountMember.account_id == Account.id)
        .where(AccountMember.person_id == person.id, Account.active.is_(True))
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


@dataclass(frozen=True)
class NewAccount:
    name: str
    tier: Tier
    customer_domains: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    confidential: bool = False


async def may_create_accounts(session: AsyncSession, person: Person | None) -> bool:
    """KA managers and admins of any account may add key accounts."""
    if person is None:
        return False
    query = select(AccountMember.id).where(
        AccountMember.person_id == person.id, AccountMember.role.in_([Role.MANAGER, Role.ADMIN])
    )
    return await session.scalar(query.limit(1)) is not None


async def create_account(session: AsyncSession, new: NewAccount, creator: Person | None) -> Account:
    """A new key account with its creator as KA manager; provisioning gives it a channel later."""
    if creator is None or not await may_create_accounts(session, creator):
        raise NotAllowed()
    if await session.scalar(select(Account.id).where(func.lower(Account.name) == new.name.lower())) is not None:
        raise AccountExists()
    account = Account(
        name=new.name,
        tier=new.tier,
        customer_domains=list(new.customer_domains),
        countries=list(new.countries),
        confidential=new.confidential,
        members=[AccountMember(person=creator, role=Role.MANAGER)],
    )
    session.add(account)
    await session.flush()
    return account


async def search_accounts(session: AsyncSession, person: Person | None, text: str, limit: int = 10) -> list[Account]:
    """The person's own accounts whose name contains `text`: nobody finds an account they are not on."""
    accounts = await accounts_of(session, person)
    wanted = text.strip().lower()
    return [a for a in accounts if wanted in a.name.lower()][:limit]
