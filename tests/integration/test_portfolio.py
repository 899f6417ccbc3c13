"""The portfolio page, its export, the Insights tab and results figures in the Plan tab, over real HTTP.

Isaiah is the head of KAM here (and a member of Fabrikam only); Megan manages Contoso, Alex Fabrikam
(and is a member of Contoso), Adele is a member of Contoso, Lynne is on no team.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openpyxl
import pytest
from sqlalchemy import update

from kam.contacts import LogContact, log_contact
from kam.demo import PEOPLE, TENANT_ID
from kam.models import Account, Contact, ContactKind, Person
from kam.people import Caller, find_person
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.entra import EntraFake
from tests.support.flows import tab_settings
from tests.support.harness import RunningBot, migrate_and_seed

AAD = {p.name.split()[0].lower(): p.aad_object_id for p in PEOPLE}
CONTOSO, FABRIKAM = 1, 2
NAMES = ("Contoso Pharma", "Fabrikam Logistics")


class Pages:
    def __init__(self, bot: RunningBot, entra: EntraFake, http: aiohttp.ClientSession) -> None:
        self.bot, self.entra, self.http = bot, entra, http

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.entra.token(AAD[user], TENANT_ID)}"}

    async def get(self, path: str, user: str) -> tuple[int, str]:
        async with self.http.get(f"{self.bot.url}{path}", headers=self.headers(user)) as r:
            return r.status, await r.text()

    async def xlsx(self, path: str, user: str) -> list[list[Any]]:
        async with self.http.get(f"{self.bot.url}{path}", headers=self.headers(user)) as r:
            assert r.status == 200, await r.text()
            book = openpyxl.load_workbook(io.BytesIO(await r.read()))
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]

    async def post(self, path: str, user: str, body: object) -> tuple[int, str]:
        async with self.http.post(f"{self.bot.url}{path}", json=body, headers=self.headers(user)) as r:
            return r.status, await r.text()


@pytest.fixture
async def pages(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[Pages]:
    entra = await EntraFake().start()
    await migrate_and_seed(sqlite_url)
    settings = tab_settings(sqlite_url, entra, head_of_kam_aad_ids=[AAD["isaiah"]])
    bot = await RunningBot(settings, connector).start()
    async with aiohttp.ClientSession() as http:
        yield Pages(bot, entra, http)
    await bot.stop()
    await entra.stop()


def table_accounts(page: str) -> list[str]:
    """The account names of the portfolio table, in the order shown."""
    body = page.split('<table id="portfolio"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-label="Account"><span><strong>([^<]+)</strong>', body)


async def person(pages: Pages, user: str) -> Person:
    async with pages.bot.db.transaction() as session:
        found = await find_person(session, Caller(AAD[user], None, ""))
    assert found is not None
    return found


async def test_the_head_of_kam_sees_every_account_a_ka_manager_only_their_own(pages: Pages) -> None:
    status, page = await pages.get("/tabs/portfolio/content?account=", "isaiah")
    assert status == 200 and sorted(table_accounts(page)) == list(NAMES)
    assert "Dependency risk" in page and "Portfolio matrix" in page
    status, page = await pages.get("/tabs/portfolio/content", "megan")
    assert status == 200 and table_accounts(page) == ["Contoso Pharma"] and "Fabrikam" not in page
    assert "Dependency risk" not in page  # the company's concentration is the head of KAM's
    status, page = await pages.get("/tabs/portfolio/content", "alex")  # a member of Contoso, manager of Fabrikam
    assert status == 200 and table_accounts(page) == ["Fabrikam Logistics"] and "Contoso" not in page


async def test_members_and_outsiders_get_403_and_nothing_about_any_account(pages: Pages) -> None:
    for user in ("adele", "lynne"):
        for path in ("/tabs/portfolio/content", "/tabs/portfolio/export.xlsx"):
            status, page = await pages.get(path, user)
            assert status == 403, (user, path)
            assert "head of KAM" in page and not any(name.split()[0] in page for name in NAMES)
    async with pages.http.get(f"{pages.bot.url}/tabs/portfolio/content") as r:
        assert r.status == 401


async def test_sorting_and_filters_and_the_export_holds_the_rows_of_the_page(pages: Pages) -> None:
    status, page = await pages.get("/tabs/portfolio/content?sort=name&order=desc", "isaiah")
    assert table_accounts(page) == ["Fabrikam Logistics", "Contoso Pharma"]
    assert 'aria-sort="descending"' in page
    _, page = await pages.get("/tabs/portfolio/content?tier=key_account", "isaiah")
    assert table_accounts(page) == ["Fabrikam Logistics"]
    _, page = await pages.get("/tabs/portfolio/content?q=megan", "isaiah")  # by KA manager
    assert table_accounts(page) == ["Contoso Pharma"] and "1 of 2 accounts" in page
    _, page = await pages.get("/tabs/portfolio/content?sort=astrology&tier=%00&order=sideways", "isaiah")
    assert table_accounts(page) == list(NAMES)  # odd parameters: the default order, no filter, no error
    for query in ("sort=name&order=desc", "tier=strategic_key_account", ""):
        _, page = await pages.get(f"/tabs/portfolio/content?{query}", "isaiah")
        rows = await pages.xlsx(f"/tabs/portfolio/export.xlsx?{query}", "isaiah")
        assert rows[0][:3] == ["Account", "Tier", "KA manager"]
        assert [row[0] for row in rows[1:]] == table_accounts(page)
    rows = await pages.xlsx("/tabs/portfolio/export.xlsx?sort=name", "isaiah")
    assert rows[1][:3] == ["Contoso Pharma", "Strategic Key Account", "Megan Bowen"]


async def test_the_export_never_writes_a_formula(pages: Pages) -> None:
    async with pages.bot.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == FABRIKAM).values(name='=HYPERLINK("x","y")'))
    async with pages.http.get(f"{pages.bot.url}/tabs/portfolio/export.xlsx", headers=pages.headers("isaiah")) as r:
        sheet = openpyxl.load_workbook(io.BytesIO(await r.read())).worksheets[0]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert {c.value for c in cells} == {"Contoso Pharma", '=HYPERLINK("x","y")'}
    assert all(c.data_type == "s" for c in cells), "a name is text, never a formula"


async def test_a_member_sees_only_how_information_flows_on_insights(pages: Pages) -> None:
    adele = await person(pages, "adele")
    async with pages.bot.db.transaction() as session:
        yesterday = dt.date.today() - dt.timedelta(days=1)
        visit = LogContact(CONTOSO, adele, "1" * 32, yesterday, ContactKind.VISIT, "Tour", "Hanna")
        await log_contact(session, visit)
    async with pages.bot.db.transaction() as session:  # the figures count up to the start of today
        await session.execute(update(Contact).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
    status, page = await pages.get(f"/tabs/insights/content?account={CONTOSO}", "adele")
    assert status == 200 and "Insights: Contoso Pharma" in page
    assert "Adele Vance: 1" in page and "service: 1" in page  # who logs, and in which function
    assert "Relationships" not in page and "Revenue" not in page and "Objectives" not in page
    status, page = await pages.get(f"/tabs/insights/content?account={CONTOSO}", "megan")
    assert status == 200 and "Relationships" in page and "Revenue target" in page
    assert '<svg class="chart sparkline"' in page and "<desc>" in page  # the trend, with a text alternative
    status, page = await pages.get(f"/tabs/insights/content?account={CONTOSO}", "isaiah")  # the head of KAM
    assert status == 200 and "Relationships" in page
    for user, account in (("lynne", CONTOSO), ("adele", FABRIKAM), ("megan", 999_999)):
        status, page = await pages.get(f"/tabs/insights/content?account={account}", user)
        assert status == 403 and not any(name in page for name in NAMES)


async def test_a_ka_manager_enters_results_figures_and_insights_compares_them_with_the_plans_target(
    pages: Pages,
) -> None:
    year = dt.date.today().year
    plan = {"base_version": 0, "sections": {"potential_targets": "Revenue target: 1.2 m"}, "items": []}
    status, _ = await pages.post(f"/tabs/plan/save?account={CONTOSO}", "megan", plan)
    assert status == 200
    _, page = await pages.get(f"/tabs/plan/content?account={CONTOSO}", "megan")
    assert 'id="results-form"' in page
    _, page = await pages.get(f"/tabs/plan/content?account={CONTOSO}", "adele")
    assert 'id="results-form"' not in page  # members do not enter results

    bad = {"year": "1900", "revenue": "-5", "margin": "150", "potential": "lots", "share_of_wallet": ""}
    status, page = await pages.post(f"/tabs/plan/results?account={CONTOSO}", "megan", bad)
    assert status == 400 and "Not saved" in page
    assert f"between {year - 10} and {year + 1}" in page and "Revenue must be a number" in page
    assert "Margin must be a per cent" in page and "Potential must be a number" in page
    status, page = await pages.post(f"/tabs/plan/results?account={CONTOSO}&locale=de", "megan", {"year": year})
    assert status == 400 and "mindestens eine Zahl" in page
    status, page = await pages.post(f"/tabs/plan/results?account={CONTOSO}", "megan", ["not", "a", "form"])
    assert status == 400

    good = {"year": str(year), "revenue": "900000", "margin": "22,5", "potential": "3000000", "share_of_wallet": "30"}
    status, page = await pages.post(f"/tabs/plan/results?account={CONTOSO}", "megan", good)
    assert status == 200 and f"Results figures for {year} saved." in page and "900,000" in page
    status, page = await pages.post(f"/tabs/plan/results?account={CONTOSO}", "adele", good)
    assert status == 403 and "Only the account&#39;s KA managers" in page

    _, page = await pages.get(f"/tabs/insights/content?account={CONTOSO}", "megan")
    assert re.search(r'id="revenue">900.000<', page) and re.search(r'id="revenue-target">1.200.000<', page)
    assert 'id="target-reached">75 %<' in page
    _, page = await pages.get("/tabs/portfolio/content", "megan")
    assert "30%" in page and "22%" in page  # share of wallet and margin in the row
