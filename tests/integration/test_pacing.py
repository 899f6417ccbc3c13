"""The Bot Connector's windows, booked in the database: what any number of processes see together."""

from __future__ import annotations

import asyncio
import time

from kam.migrate import upgrade
from kam.send_slots import Booking, Limited, Window, book, push_back
from kam.storage import Database

MARGIN = 0.1  # larger than the mapping error below: the checks then show the margin is kept
# Moments as a process's own clock has them: within the round trip that read the database's clock (a loaded
# machine makes that tens of milliseconds).
ROUND_TRIP = 0.05
TENANT = Limited("tenant:t", (Window(5, 1.0),), shared=True)


def thread(name: str) -> Limited:
    return Limited(f"conversation:{name}", (Window(3, 1.0), Window(4, 2.0)))


async def booked(db: Database, *limited: Limited, slack: float = 0.05) -> Booking:
    async with db.transaction() as session:
        return await book(session, limited, margin=MARGIN, slack=slack)


def fits(moments: list[float], window: Window) -> bool:
    """No `limit + 1` moments inside any window (what the service would answer 429 to)."""
    ordered = sorted(moments)
    return all(b - a >= window.seconds for a, b in zip(ordered, ordered[window.limit :], strict=False))


async def test_a_conversation_that_had_its_share_waits_without_holding_the_tenants_slots(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    try:
        first = [await booked(db, thread("busy"), TENANT) for _ in range(3)]
        assert all(b.booked and b.wait == 0 for b in first), "three fit the conversation's second at once"
        fourth = await booked(db, thread("busy"), TENANT)
        assert not fourth.booked, "the fourth would have to wait: nothing is booked for it yet"
        assert fourth.moment >= first[0].moment + 1.0 + MARGIN - ROUND_TRIP, "it may ask again a window after the first"
        other = await booked(db, thread("quiet"), TENANT)
        assert other.booked and other.wait == 0, "another conversation is not held up by the busy one"
        tenant_full = await booked(db, thread("third"), TENANT)
        assert tenant_full.booked and tenant_full.wait == 0, "the tenant's fifth request of the second"
        sixth = await booked(db, thread("fourth"), TENANT)
        assert sixth.booked, "the tenant's window is full: booked a second later"
        assert sixth.moment >= first[0].moment + 1.0 + MARGIN - ROUND_TRIP
    finally:
        await db.close()


async def test_a_late_answer_moves_the_windows_for_what_is_booked_after_it(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    try:
        first = [await booked(db, thread("slow")) for _ in range(3)]
        async with db.transaction() as session:
            for booking in first:  # their answers came half a second late
                await push_back(session, booking.ids, 0.5)
        after = await booked(db, thread("slow"), slack=5.0)
        assert after.booked, after
        assert after.moment >= first[0].moment + 0.5 + 1.0 + MARGIN - ROUND_TRIP, "counted from the late answer"
    finally:
        await db.close()


async def test_processes_booking_side_by_side_keep_every_window_together(database_url: str) -> None:
    """Five engines (three on SQLite) stand for five processes; 12 requests to one conversation, each booked
    when it can go: every window holds, margin included, for all of them together."""
    await asyncio.to_thread(upgrade, database_url)
    processes = [Database(database_url) for _ in range(5 if "postgresql" in database_url else 3)]
    moments: list[float] = []

    async def send(db: Database) -> None:
        while True:
            booking = await booked(db, thread("shared"), TENANT)
            await asyncio.sleep(max(0.0, booking.moment - time.monotonic()))
            if booking.booked:
                moments.append(booking.moment)
                return

    try:
        await asyncio.gather(*(send(processes[i % len(processes)]) for i in range(12)))
    finally:
        for db in processes:
            await db.close()
    assert len(moments) == 12
    for window in (*thread("shared").windows, *TENANT.windows):
        assert fits(moments, Window(window.limit, window.seconds + MARGIN - ROUND_TRIP)), (window, sorted(moments))
    assert max(moments) - min(moments) < 7.5, "and no slower than the windows make it"


async def test_bookings_for_different_conversations_side_by_side_keep_the_tenants_window(database_url: str) -> None:
    """Every booking names the tenant, and its lock is the tenant's: twenty requests to twenty conversations,
    booked at once by five engines, still never put more than five in any second."""
    await asyncio.to_thread(upgrade, database_url)
    processes = [Database(database_url) for _ in range(5 if "postgresql" in database_url else 3)]
    moments: list[float] = []

    async def send(db: Database, conversation: str) -> None:
        while True:
            booking = await booked(db, thread(conversation), TENANT)
            await asyncio.sleep(max(0.0, booking.moment - time.monotonic()))
            if booking.booked:
                moments.append(booking.moment)
                return

    try:
        await asyncio.gather(*(send(processes[i % len(processes)], f"c{i}") for i in range(20)))
    finally:
        for db in processes:
            await db.close()
    assert fits(moments, Window(TENANT.windows[0].limit, 1.0 + MARGIN - ROUND_TRIP)), sorted(moments)


async def test_a_turns_reply_waits_for_its_moment_at_most_as_long_as_teams_waits_for_the_turn(
    database_url: str,
) -> None:
    """A conversation that had its 8 in 2 seconds: the outbox waits for its moment, a turn's reply (with
    patience) goes when its patience runs out, unbooked, and a 429 would be retried."""
    from bot.outbox.pacing import Pacer

    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    pacer = Pacer(db)
    try:
        first = await pacer.send("t", "a:busy")
        for _ in range(7):
            assert (await pacer.send("t", "a:busy")).ids
        started = time.monotonic()
        impatient = await pacer.send("t", "a:busy", patience=0.3)
        assert impatient.ids == () and 0.29 <= time.monotonic() - started < 0.9, "it went after its patience"
        patient = await pacer.send("t", "a:busy")
        assert patient.ids and patient.at >= first.at + 2.0, "the outbox waits for the 2-second window"
    finally:
        await db.close()
