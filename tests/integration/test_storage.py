"""kam/ storage on SQLite and PostgreSQL: migrations, one-transaction writes, references, outbox claims."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from kam.access import Act, Principal, require
from kam.accounts import accounts_of, get_account
from kam.acknowledgements import acknowledge, schedule_reminders
from kam.checks import end_framework_agreement
from kam.contacts import LogContact, log_contact
from kam.conversations import SeenConversation, mark_welcomed, reference_for_channel, remember
from kam.decisions import LogDecision, log_decision
from kam.demo import seed_demo
from kam.errors import DuplicateSubmission, InvalidReference, NotAllowed, Refused
from kam.migrate import head_revision, upgrade
from kam.models import (
    Account,
    Acknowledgement,
    Contact,
    ContactKind,
    DecisionCategory,
    Flag,
    FlagKind,
    ItemKind,
    OutboxMessage,
    Person,
    utcnow,
)
from kam.outbox import OutboxKind, claim_due, pending_count
from kam.plans import PlanConflict, PlanContent, current_plan, save_plan
from kam.price_actions import LogPriceAction, log_price_action
from kam.storage import Database
from kam.subjects import agreement_subject
from tests.support.harness import admin_connection, migrate_and_seed


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    await migrate_and_seed(database_url)
    database = Database(database_url)
    yield database
    await database.close()


async def person(db: Database, name: str) -> Person:
    async with db.transaction() as session:
        found = await session.scalar(select(Person).where(Person.name == name))
        assert found is not None
        return found


async def account_id(db: Database, name: str) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(Account.id).where(Account.name == name)))  # type: ignore[arg-type]


def command(account: int, author: Person, key: str = "a" * 32, **changes: object) -> LogContact:
    values: dict[str, object] = dict(
        account_id=account,
        author=author,
        idempotency_key=key,
        met_on=dt.date(2026, 11, 20),
        kind=ContactKind.CALL,
        summary="Budget call",
        customer_people="Hanna Berger",
    )
    values.update(changes)
    return LogContact(**values)  # type: ignore[arg-type]


async def contacts_and_outbox(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        contacts = await session.scalar(select(func.count()).select_from(Contact))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
        return int(contacts or 0), int(outbox or 0)


async def test_migrations_reach_head_and_running_them_again_changes_nothing(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            assert await session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
            assert await seed_demo(session) == 2
        async with database.transaction() as session:
            assert await seed_demo(session) == 0, "seeding twice adds nothing"
    finally:
        await database.close()


async def test_a_contact_and_its_channel_post_are_stored_together_once(db: Database) -> None:
    alex = await person(db, "Alex Wilber")
    contoso = await account_id(db, "Contoso Pharma")
    async with db.transaction() as session:
        await log_contact(session, command(contoso, alex))
    # The channel post, and the KA manager's card to acknowledge it.
    assert await contacts_and_outbox(db) == (1, 2)

    with pytest.raises(DuplicateSubmission):
        async with db.transaction() as session:
            await log_contact(session, command(contoso, alex, summary="changed my mind"))
    assert await contacts_and_outbox(db) == (1, 2)


async def test_a_failed_transaction_leaves_neither_contact_nor_post(db: Database) -> None:
    alex = await person(db, "Alex Wilber")
    contoso = await account_id(db, "Contoso Pharma")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await log_contact(session, command(contoso, alex))
            raise RuntimeError("the process died here")
    assert await contacts_and_outbox(db) == (0, 0)


async def test_only_the_account_team_may_log_and_only_its_own_people(db: Database) -> None:
    isaiah = await person(db, "Isaiah Langer")
    alex = await person(db, "Alex Wilber")
    contoso = await account_id(db, "Contoso Pharma")
    with pytest.raises(Refused):
        async with db.transaction() as session:
            await log_contact(session, command(contoso, isaiah))
    with pytest.raises(InvalidReference):
        async with db.transaction() as session:
            await log_contact(session, command(contoso, alex, participant_ids=(isaiah.id,)))
    assert await contacts_and_outbox(db) == (0, 0)


async def test_accounts_of_a_person_are_theirs_only(db: Database) -> None:
    async with db.transaction() as session:
        alex = await session.scalar(select(Person).where(Person.name == "Alex Wilber"))
        lynne = await session.scalar(select(Person).where(Person.name == "Lynne Robbins"))
        assert [a.name for a in await accounts_of(session, alex)] == ["Contoso Pharma", "Fabrikam Logistics"]
        assert await accounts_of(session, lynne) == []
        fabrikam = (await accounts_of(session, alex))[1]
        fabrikam.active = False
        await session.flush()
        assert [a.name for a in await accounts_of(session, alex)] == ["Contoso Pharma"], "left the list: not offered"
        fabrikam.active = True
        contoso = await get_account(session, (await accounts_of(session, alex))[0].id)
        assert {m.person.name for m in contoso.members} >= {"Megan Bowen", "Alex Wilber"}


async def test_conversation_references_are_kept_and_a_channel_borrows_its_teams(db: Database) -> None:
    seen = SeenConversation("team-id", "https://smba.example/emea/", "tenant-1", "channel", "team-id", "28:bot")
    async with db.transaction() as session:
        await remember(session, seen)
        await remember(session, SeenConversation("team-id", "https://smba.example/amer/", None, None, None, None))
    async with db.transaction() as session:
        own = await reference_for_channel(session, "team-id", "team-id")
        borrowed = await reference_for_channel(session, "channel-contoso-id", "team-id")
        assert own is not None and own.service_url == "https://smba.example/amer/" and own.tenant_id == "tenant-1"
        assert borrowed is not None and borrowed.conversation_id == "team-id"
        assert await mark_welcomed(session, "team-id") is True
    async with db.transaction() as session:
        assert await mark_welcomed(session, "team-id") is False


async def test_two_senders_on_postgresql_never_claim_the_same_row(fresh_postgres: str) -> None:
    await migrate_and_seed(fresh_postgres)
    database = Database(fresh_postgres)
    try:
        async with database.transaction() as session:
            contoso = await session.scalar(select(Account.id).where(Account.name == "Contoso Pharma"))
            session.add_all([OutboxMessage(kind="contact.logged", subject_id=i, account_id=contoso) for i in range(3)])
        async with database.transaction() as first, database.transaction() as second:
            mine = await claim_due(first, limit=2)
            theirs = await claim_due(second, limit=2)
            assert len(mine) == 2 and len(theirs) == 1
            assert not {m.id for m in mine} & {t.id for t in theirs}
        async with database.transaction() as session:
            assert await pending_count(session) == 3
    finally:
        await database.close()


async def test_two_instances_on_postgresql_remind_and_report_each_acknowledgement_once(fresh_postgres: str) -> None:
    await migrate_and_seed(fresh_postgres)
    database = Database(fresh_postgres)
    try:
        alex = await person(database, "Alex Wilber")
        contoso = await account_id(database, "Contoso Pharma")
        async with database.transaction() as session:
            for i in range(20):
                await log_contact(session, command(contoso, alex, key=f"{i:032d}"))
            acks = list(await session.scalars(select(Acknowledgement)))
            for ack in acks:  # due now: reminder time passed, report time passed after it
                ack.remind_at = ack.report_at = utcnow() - dt.timedelta(minutes=1)

        async def instance() -> int:
            queued = 0
            for _ in range(2):  # first the reminders, on the next sweep the reports
                async with database.transaction() as session:
                    queued += await schedule_reminders(session, {})
            return queued

        assert sum(await asyncio.gather(instance(), instance(), instance())) == 40
        async with database.transaction() as session:
            kinds = await session.execute(
                select(OutboxMessage.kind, func.count())
                .where(OutboxMessage.kind.like("ack.%"))
                .group_by(OutboxMessage.kind)
            )
            assert dict(kinds.all()) == {
                OutboxKind.ACK_REQUEST: 20,
                OutboxKind.ACK_REMINDER: 20,
                OutboxKind.ACK_OVERDUE: 20,
            }
    finally:
        await database.close()


async def test_acknowledgements_and_checks_work_the_same_on_both_databases(db: Database) -> None:
    alex, megan, adele = [await person(db, n) for n in ("Alex Wilber", "Megan Bowen", "Adele Vance")]
    contoso = await account_id(db, "Contoso Pharma")
    async with db.transaction() as session:
        paid = command(contoso, alex, key="p" * 32, paid_service="Extra calibration visit", framework_agreement=True)
        contact = (await log_contact(session, paid)).contact
        free = LogDecision(
            contoso,
            megan,
            "f" * 32,
            "Free calibration",
            DecisionCategory.SERVICE,
            "Calibration at no charge.",
            "Megan",
            dt.date(2026, 11, 20),
            framework_agreement=True,
        )
        decision = await log_decision(session, free)
    async with db.transaction() as session:
        kinds = sorted(f.kind.value for f in await session.scalars(select(Flag)))
        assert kinds == [
            "concession",
            "framework_agreement",
            "framework_agreement",
            "free_after_paid",
            "paid_service",
            "parallel_framework",
        ]
        account = await get_account(session, contoso)
        item = (ItemKind.CONTACT, contact.id)
        first = await acknowledge(session, account, item, megan)
        again = await acknowledge(session, account, item, megan)
        assert first.id == again.id and first.acknowledged_at == again.acknowledged_at
        extra = await acknowledge(session, account, (ItemKind.DECISION, decision.id), adele)
        assert extra.required is False
        agreement = next(f for f in await session.scalars(select(Flag)) if f.kind == FlagKind.FRAMEWORK_AGREEMENT)
        found = await agreement_subject(session, contoso, agreement.id)
        with pytest.raises(NotAllowed):
            require(Principal(adele), Act.END_AGREEMENT, found.subject)
        require(Principal(megan), Act.END_AGREEMENT, found.subject)
        end_framework_agreement(found.row)
        assert found.row.closed_at is not None
        action, at_risk = await log_price_action(
            session, LogPriceAction(adele, "d" * 32, "Bargain", ("AT",), dt.date(2026, 11, 20))
        )
        assert [a.name for a in at_risk] == ["Contoso Pharma"]


async def test_two_plan_saves_from_the_same_version_at_once_give_one_version_and_one_conflict(db: Database) -> None:
    contoso = await account_id(db, "Contoso Pharma")
    megan = await person(db, "Megan Bowen")

    async def save(text: str) -> str:
        try:
            async with db.transaction() as session:
                account = await get_account(session, contoso)
                await save_plan(session, account, megan, 0, PlanContent(sections={"facts": text}))
                await asyncio.sleep(0.05)  # both are inside their transaction at the same time
            return "saved"
        except PlanConflict:
            return "conflict"

    outcomes = sorted(await asyncio.gather(save("first"), save("second")))
    async with db.transaction() as session:
        plan = await current_plan(session, await get_account(session, contoso))
    assert plan.version == 1 and plan.content.sections["facts"] in ("first", "second")
    assert outcomes == ["conflict", "saved"], "never two version 1s, never a silent overwrite"


async def test_the_migrations_build_exactly_the_schema_the_models_describe(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from kam.models import Base

    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await database.close()
    assert differences == [], differences


async def test_instances_that_start_together_migrate_one_after_the_other(fresh_postgres: str, tmp_path: Path) -> None:
    """Each container runs `kambot db upgrade` on start; on a new PostgreSQL database they must not collide."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAMBOT_")}
    env = {**clean, "KAMBOT_DATABASE_URL": fresh_postgres, "PYTHONPATH": str(Path.cwd())}
    command = [sys.executable, "-m", "bot.cli", "db", "upgrade"]
    starts = [subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE) for _ in range(3)]
    outcomes = [(process.wait(timeout=120), process.stderr.read().decode()) for process in starts if process.stderr]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    database = Database(fresh_postgres)
    try:
        assert await database.schema_revision() == head_revision()
    finally:
        await database.close()


async def end_every_session_but_this(url: str) -> None:
    """What a database restart does to a pool: every connection it holds is gone."""
    admin = await admin_connection(url)
    try:
        await admin.execute(  # waits up to 5 s until each session has ended
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()


@pytest.mark.parametrize("idle_seconds", [0.0, 3600.0])
async def test_a_pooled_connection_the_server_cut_is_replaced_only_once_it_sat_idle(
    fresh_postgres: str, idle_seconds: float
) -> None:
    """A database restart (here: the server ending every session) costs no user a failed turn,
    once the connection sat idle; a connection used moments ago is not pinged (no round trip)."""
    await migrate_and_seed(fresh_postgres)
    database = Database(fresh_postgres, ping_after_idle_seconds=idle_seconds)
    try:
        alex = await person(database, "Alex Wilber")
        async with database.transaction() as session:  # the pool now holds a connection
            await session.execute(text("SELECT 1"))
        await end_every_session_but_this(fresh_postgres)
        if idle_seconds:
            with pytest.raises(Exception):  # noqa: B017 - the driver's own "connection closed" error
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
        contoso = await account_id(database, "Contoso Pharma")
        async with database.transaction() as session:
            await log_contact(session, command(contoso, alex))
        assert await contacts_and_outbox(database) == (1, 2)
    finally:
        await database.close()


async def test_upgrading_to_batched_requests_keeps_the_requests_sent_one_card_each_from_a_second_card(
    tmp_path: Path,
) -> None:
    """Before batching every request had its card: after the upgrade only those still queued are gathered."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0014")
    await migrate_and_seed_rows(url)
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.transaction() as session:
            rows = await session.execute(text("SELECT id, requested_at IS NOT NULL FROM acknowledgements ORDER BY id"))
            assert rows.all() == [(1, True), (2, False)], "sent long ago: requested; still queued: to gather"
    finally:
        await database.close()


async def migrate_and_seed_rows(url: str) -> None:
    """Two open acknowledgements at revision 0014: the card of the first went, the second's is still queued."""
    database = Database(url)
    try:
        async with database.transaction() as session:
            for statement in (
                "INSERT INTO people (id, name, nudges_paused) VALUES (1, 'Megan', 0)",
                "INSERT INTO accounts (id, name, tier, active, confidential, created_at)"
                " VALUES (1, 'Contoso', 'key_account', 1, 0, '2026-11-01')",
                "INSERT INTO acknowledgements (id, account_id, item_kind, item_id, person_id, required, reasons,"
                " created_at) VALUES (1, 1, 'contact', 1, 1, 1, '[]', '2026-11-01'),"
                " (2, 1, 'contact', 2, 1, 1, '[]', '2026-12-05')",
                "INSERT INTO outbox (kind, subject_id, status, attempts, not_before, created_at) VALUES"
                " ('ack.request', 1, 'sent', 1, '2026-11-01', '2026-11-01'),"
                " ('ack.request', 2, 'pending', 0, '2026-12-05', '2026-12-05')",
            ):
                await session.execute(text(statement))
    finally:
        await database.close()
