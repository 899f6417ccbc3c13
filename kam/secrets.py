"""Secrets every instance must share, kept in the database so that nobody has to configure them."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import AppSecret, utcnow
from kam.storage import insert_if_absent

CARD_KEY = "card-signing-key"


async def shared_secret(session: AsyncSession, name: str) -> str:
    """The secret called `name`; made at random by whichever instance asks first (the others read it)."""
    values = {"name": name, "value": secrets.token_hex(32), "created_at": utcnow()}
    await insert_if_absent(session, AppSecret, values, ["name"])
    value = await session.scalar(select(AppSecret.value).where(AppSecret.name == name))
    assert value is not None, "inserted or already there"
    return value
