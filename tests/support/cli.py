"""`kambot` run as a user runs it, in its own process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kam.storage import Database

T = TypeVar("T")


def kambot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAMBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work` in one transaction on the database at `url`, as an import command runs: from synchronous code."""

    async def inner() -> T:
        db = Database(url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.close()

    return asyncio.run(inner())
