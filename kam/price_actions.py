"""Country price actions: a bargain for all customers of a country, which key accounts' local buyers see too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import accounts_of
from kam.acknowledgements import ask_to_acknowledge
from kam.checks import price_risks
from kam.errors import DuplicateSubmission, UnknownPerson
from kam.models import Account, ItemKind, OutboxMessage, Person, PriceAction
from kam.outbox import OutboxKind
from kam.rules import Rules
from kam.storage import add_once

TITLE_MAX = 200
TEXT_MAX = 2000


@dataclass(frozen=True)
class LogPriceAction:
    author: Person | None
    idempotency_key: str
    title: str
    countries: tuple[str, ...]
    starts_on: dt.date
    ends_on: dt.date | None = None
    description: str = ""


async def find_price_action_by_key(session: AsyncSession, key: str) -> PriceAction | None:
    return await session.scalar(select(PriceAction).where(PriceAction.idempotency_key == key))


async def log_price_action(
    session: AsyncSession, command: LogPriceAction, rules: Rules | None = None
) -> tuple[PriceAction, list[Account]]:
    """Store the action; every key account with sites in its countries gets a post and its KA manager a card.

    Anyone on a key account team may log one (country leads usually are). Raises UnknownPerson
    (for anyone else) and DuplicateSubmission.
    """
    if command.author is None:
        raise UnknownPerson()
    if not await accounts_of(session, command.author):
        raise UnknownPerson()
    if await find_price_action_by_key(session, command.idempotency_key) is not None:
        raise DuplicateSubmission()
    action = PriceAction(
        logged_by_id=command.author.id,
        idempotency_key=command.idempotency_key,
        title=command.title,
        countries=list(command.countries),
        description=command.description,
        starts_on=command.starts_on,
        ends_on=command.ends_on,
    )
    await add_once(session, action)
    await session.refresh(action, ["logged_by"])
    affected = await price_risks(session, action, command.author)
    rules = rules or Rules()
    for account, must_know in affected.items():
        post = OutboxMessage(kind=OutboxKind.PRICE_RISK_POSTED, subject_id=action.id, account_id=account.id)
        item = (ItemKind.PRICE_ACTION, action.id)
        await ask_to_acknowledge(
            session, account, item, command.author, must_know, rules.for_account(account), announce=[post]
        )
    return action, list(affected)


async def get_price_action(session: AsyncSession, action_id: int) -> PriceAction | None:
    return await session.get(PriceAction, action_id)
