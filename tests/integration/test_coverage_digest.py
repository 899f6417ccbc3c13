"""The KA manager's weekly digest names the coverage gaps of the accounts they manage, in their language; members
who manage nothing are not told, and a confidential account's gaps go to the manager's 1:1 chat only.

The demo, with Contoso Pharma confidential: Dr. Hanna Berger is its decision maker (executive, high power) and
Alex had a call with her today (1:1, 0.6 -> strength 34: he knows her), nobody else did; Tom Richter, a user,
is a non-supporter of medium power (influence 2) and nobody supports us (0): he outweighs. Megan manages Contoso
and reads German. Alex manages Fabrikam Logistics, whose Maria Lopez has no known role.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from kam.contacts import LogContact, log_contact
from kam.models import Account, Attitude, BuyingRole, ContactKind, DecisionPower, Person, Stakeholder
from kam.models import StakeholderLevel as Level
from kam.people import Caller, find_person
from kam.storage import Database
from tests.integration.test_digest import TITLE, TODAY, digest_bot, digests_to
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import chat_cards
from tests.support.harness import RunningBot, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, USERS

IN_GERMAN = "Ihre Woche mit Ihren Key Accounts"


@pytest.fixture
async def mapped(database_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    await migrate_and_seed(database_url)
    db = Database(database_url)
    async with db.transaction() as session:
        await session.execute(update(Account).where(Account.name == "Contoso Pharma").values(confidential=True))
        await session.execute(update(Person).where(Person.name == "Megan Bowen").values(locale="de-DE"))
        hanna = await session.scalar(select(Stakeholder).where(Stakeholder.name == "Dr. Hanna Berger"))
        tom = await session.scalar(select(Stakeholder).where(Stakeholder.name == "Tom Richter"))
        assert hanna is not None and tom is not None
        hanna.buying_role, hanna.level, hanna.decision_power = (
            BuyingRole.DECISION_MAKER,
            Level.EXECUTIVE,
            DecisionPower.HIGH,
        )
        tom.buying_role, tom.attitude, tom.decision_power = (
            BuyingRole.USER,
            Attitude.NON_SUPPORTER,
            DecisionPower.MEDIUM,
        )
        alex = await find_person(session, Caller(USERS["alex"].aad_object_id, None, ""))
        call = LogContact(hanna.account_id, alex, "c" * 32, dt.date.today(), ContactKind.CALL, "Call", "", (hanna.id,))
        await log_contact(session, call)
    await db.close()
    bot = await digest_bot(database_url, connector, TODAY)
    yield bot
    await bot.stop()


async def test_a_ka_manager_reads_the_gaps_of_the_accounts_they_manage(
    mapped: RunningBot, connector: ConnectorFake
) -> None:
    bot = mapped
    await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # the bot can reach the tenant

    def all_told(fake: ConnectorFake) -> bool:
        told = [digests_to(fake, "alex"), digests_to(fake, "adele"), digests_to(fake, "megan", IN_GERMAN)]
        return all(told)

    await connector.wait_for(all_told, timeout=10)

    megans = digests_to(connector, "megan", IN_GERMAN)[0]
    assert "Lücken in der Abdeckung Ihrer Accounts" in megans and "Contoso Pharma" in megans
    assert "Nur Alex Wilber kennt Dr. Hanna Berger aus dem Kreis der Entscheider" in megans
    assert (
        "Buying-Center-Rollen ohne bekannte Person: Budgetverantwortlicher, Technischer Beeinflusser, Gatekeeper, "
        "Champion, Sponsor" in megans
    )
    assert "Nicht auf unserer Seite und einflussreicher als unsere Befürworter: Tom Richter" in megans
    assert "Geschäftsleitung getroffen" not in megans, "Hanna, the executive, was met today"
    assert "Kein Entscheider" not in megans

    alexs = digests_to(connector, "alex")[0]
    assert "Coverage gaps on the accounts you manage" in alexs
    assert "Fabrikam Logistics" in alexs and "No decision maker or economic buyer known" in alexs
    assert "Hanna" not in alexs and "Tom Richter" not in alexs, "Alex is a member of Contoso, not its KA manager"

    adeles = digests_to(connector, "adele")[0]
    assert "Coverage gaps" not in adeles, "Adele manages no account"

    one_to_one = {connector.chats.get(u.teams_user_id) for u in USERS.values()} | {f"a:personal-{u}" for u in USERS}
    shared = [r.activity for r in connector.recorded if r.conversation_id not in one_to_one]
    assert shared, "the channel had posts (the call with Hanna)"
    told_elsewhere = [a for a in shared for said in (TITLE, IN_GERMAN, "Kreis der Entscheider") if said in str(a)]
    assert told_elsewhere == [], "digests and their gaps go to 1:1 chats only"
    assert_valid_cards(chat_cards(connector, "megan") + chat_cards(connector, "alex"))
