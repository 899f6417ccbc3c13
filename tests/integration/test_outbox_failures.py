"""A message that cannot be delivered is not retried forever: the KA manager is told, an admin re-queues it.

Refused for good: a channel that removed the app (403), a message over Teams' size limit (413).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from kam.models import OutboxMessage, OutboxStatus
from kam.outbox import OutboxKind
from tests.support.cards_judge import assert_valid_cards
from tests.support.cli import kambot
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import chat_cards, open_form, save, texts_in
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL


async def test_a_post_the_channel_refuses_is_reported_to_the_ka_manager_and_can_be_sent_again(
    bot: RunningBot,
    connector: ConnectorFake,
    tmp_path,
    sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    form, _ = await open_form(bot)
    connector.fail_next(403, conversation=CONTOSO_CHANNEL)  # the app was removed from the team
    await save(bot, form)
    await bot.settle()

    def told(fake: ConnectorFake) -> bool:
        return any("Not delivered: Contoso Pharma" in texts_in(c) for c in chat_cards(fake, "megan"))

    await connector.wait_for(told, timeout=10)
    notice = next(c for c in chat_cards(connector, "megan") if "Not delivered" in texts_in(c))
    assert "a logged contact to the account's channel" in texts_in(notice) and "HTTP 403" in texts_in(notice)
    assert not [r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards]
    assert_valid_cards([notice])

    env = {"KAMBOT_DATABASE_URL": sqlite_url, "PYTHONPATH": str(tmp_path.cwd())}
    listed = await asyncio.to_thread(kambot, "outbox", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "contact.logged" in listed.stderr and "HTTP 403" in listed.stderr
    again = await asyncio.to_thread(kambot, "outbox", "retry", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "1 message(s) queued again" in again.stderr

    await connector.wait_for(
        lambda fake: any(
            "New customer contact" in texts_in(r.cards[0]) for r in fake.in_conversation(CONTOSO_CHANNEL) if r.cards
        ),
        timeout=10,
    )
    cleared = await asyncio.to_thread(kambot, "outbox", env=env, cwd=tmp_path)
    assert "no failed messages" in cleared.stderr


async def test_a_card_teams_finds_too_large_is_not_retried_and_the_ka_manager_is_told(
    bot: RunningBot, connector: ConnectorFake
) -> None:
    form, _ = await open_form(bot)
    # Teams' limit made small enough for this contact's cards (a summary of 2,000 emoji: 8 KB of UTF-16 on its
    # own), not for the report about them.
    connector.message_size_limit = 12 * 1024
    await save(bot, form, summary="💥" * 2000)
    await bot.settle()

    def told(fake: ConnectorFake) -> list[dict[str, Any]]:
        return [c for c in chat_cards(fake, "megan") if "Not delivered: Contoso Pharma" in texts_in(c)]

    await connector.wait_for(lambda fake: len(told(fake)) == 2, timeout=10)
    about_post = next(c for c in told(connector) if "a logged contact to the account's channel" in texts_in(c))
    assert "HTTP 413" in texts_in(about_post) and "Message size too large" in texts_in(about_post)
    assert not [r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards]
    assert connector.too_large == 2, "the channel post and Megan's card, each refused once: neither retried"
    async with bot.db.transaction() as session:
        rows = {row.kind: row for row in await session.scalars(select(OutboxMessage))}
    for kind in (OutboxKind.CONTACT_LOGGED, OutboxKind.ACK_REQUEST):
        assert rows[kind].status == OutboxStatus.FAILED and "413" in (rows[kind].last_error or "")
    assert_valid_cards(told(connector))
