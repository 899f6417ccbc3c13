"""Key accounts and their teams."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kam.access import Act, Principal, Subject, require
from kam.errors import AccountExists, Refused
from kam.models import Account, AccountMember, Person, Role, Stakeholder, Tier


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


async def accounts_named(session: AsyncSession, names: Iterable[str]) -> dict[str, Account]:
    """The accounts of `names` by their lower-cased name, as an import's rows name them (any case)."""
    wanted = {name.lower() for name in names}
    found = await session.scalars(select(Account).where(func.lower(Account.name).in_(wanted)))
    return {a.name.lower(): a for a in found}


async def account_for_channel(session: AsyncSession, channel_id: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.channel_id == channel_id))


# Built once: every card id is looked up with it, on every turn.
_WITH_TEAM = (joinedload(Account.members),)


async def get_account(session: AsyncSession, account_id: int) -> Account:
    """The account with its team, in one statement (the team's own eager load would be a second)."""
    account = await session.get(Account, account_id, options=_WITH_TEAM)
    if account is None:
        raise Refused()
    return account


async def stakeholders_of(
    session: AsyncSession, account_id: int, ids: Iterable[int] | None = None
) -> list[Stakeholder]:
    """The account's customer people by name; with `ids`, only those of them (others' ids find nothing)."""
    query = select(Stakeholder).where(Stakeholder.account_id == account_id).order_by(Stakeholder.name)
    if ids is not None:
        query = query.where(Stakeholder.id.in_(list(ids)))
    return list(await session.scalars(query))


def role_of(account: Account, person: Person | None) -> Role | None:
    if person is None:
        return None
    for member in account.members:
        if member.person_id == person.id:
            return member.role
    return None


def require_team_member(account: Account, person: Person | None) -> Role:
    """Anyone on the account's team may log (kam.access); everyone else is refused, naming nothing."""
    require(Principal(person), Act.LOG, Subject(account=account))
    role = role_of(account, person)
    assert role is not None
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


async def create_account(session: AsyncSession, new: NewAccount, principal: Principal) -> Account:
    """A new key account with its creator as KA manager; provisioning gives it a channel later."""
    require(principal, Act.CREATE_ACCOUNT)
    creator = principal.person
    if creator is None:
        raise Refused()
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


async def team_roles(session: AsyncSession, person: Person | None) -> frozenset[Role]:
    """The roles a person has on any active account team (for acts about no one account)."""
    if person is None:
        return frozenset()
    query = (
        select(AccountMember.role)
        .join(Account, Account.id == AccountMember.account_id)
        .where(AccountMember.person_id == person.id, Account.active.is_(True))
    )
    return frozenset(await session.scalars(query))
