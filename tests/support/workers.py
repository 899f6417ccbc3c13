"""`kambot worker` processes and a crowd to send to: for the several-instances tests and bench/fanout.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kam.demo import TENANT_ID
from kam.migrate import upgrade
from kam.models import Account, AccountMember, ConversationRef, DigestSent, OutboxMessage, Person, Role, Tier
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake

ROOT = Path(__file__).resolve().parents[2]
PER_ACCOUNT = 50


def start_worker(url: str, **settings: str) -> subprocess.Popen[str]:
    """`kambot worker` in its own process, configured through the environment like in production."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAMBOT_")}
    env = {
        **clean,
        "KAMBOT_DATABASE_URL": url,
        "KAMBOT_OUTBOX_SWEEP_SECONDS": "0.2",
        "KAMBOT_NUDGE_WEEKDAY": "off",
        "KAMBOT_MONTHLY_KPI_CARDS": "false",
        "KAMBOT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **{f"KAMBOT_{k.upper()}": v for k, v in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def chat_of(index: int) -> str:
    return f"a:crowd-{index}"


async def owe_weekly_digests(url: str, connector: ConnectorFake, people: int) -> None:
    """`people` members (PER_ACCOUNT per account), each with a 1:1 chat the bot knows, each owed a weekly digest."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    async with db.transaction() as session:
        crowd = [
            Person(aad_object_id=f"crowd-{i}", teams_user_id=f"29:crowd-{i}", name=f"Member {i}", chat_id=chat_of(i))
            for i in range(people)
        ]
        session.add_all(
            ConversationRef(
                conversation_id=chat_of(i), tenant_id=TENANT_ID, service_url=connector.url, conversation_type="personal"
            )
            for i in range(people)
        )
        accounts = [
            Account(
                name=f"Crowd account {start // PER_ACCOUNT}",
                tier=Tier.KEY_ACCOUNT,
                members=[AccountMember(person=p, role=Role.MEMBER) for p in crowd[start : start + PER_ACCOUNT]],
            )
            for start in range(0, people, PER_ACCOUNT)
        ]
        session.add_all(accounts)
        digests = [DigestSent(person=person, week="2026-W49") for person in crowd]
        session.add_all(digests)
        await session.flush()
        session.add_all(OutboxMessage(kind=OutboxKind.NUDGE_WEEKLY, subject_id=digest.id) for digest in digests)
    await db.close()


@dataclass(frozen=True)
class Deliveries:
    delivered: int
    lost: int
    duplicates: int


def deliveries(connector: ConnectorFake, people: int) -> Deliveries:
    """What reached the crowd's chats: people with nothing, and cards beyond one per person."""
    per_chat = Counter(r.conversation_id for r in connector.recorded if r.method == "send" and r.cards)
    wanted = [per_chat.get(chat_of(i), 0) for i in range(people)]
    return Deliveries(sum(wanted), sum(1 for n in wanted if n == 0), sum(n - 1 for n in wanted if n > 1))
