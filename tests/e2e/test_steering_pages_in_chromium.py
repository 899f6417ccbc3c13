"""The portfolio page and the Insights tab in headless Chromium: Teams' three themes at desktop and phone width,
readable (4.5:1), nothing cut off at 360 px, every control named, every chart an image with a name and a text
alternative. Screenshots go to test-artifacts/tabs/."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page
from sqlalchemy import update

from kam.accounts import get_account
from kam.contacts import LogContact, log_contact
from kam.models import Account, AccountHealth, Contact, ContactKind
from kam.people import Caller, find_person
from kam.results import set_results
from tests.support.chromium import contrast_failures, overflow, unnamed_controls
from tests.support.harness import RunningBot
from tests.support.tab_pages import SHOTS, THEMES, USERS, WIDTHS, dev_token, page_context, tab_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTOSO, FABRIKAM = 1, 2
HEALTH_DAYS = {3: 72, 2: 65, 1: 58}


@dataclass
class Site:
    bot: RunningBot
    context: BrowserContext

    def url(self, path: str, user: str) -> str:
        return f"{self.bot.url}{path}#token={dev_token(self.bot.settings, user)}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """Both demo accounts with results figures and selection scores (so the matrix has points), a contact logged
    on Contoso yesterday; Isaiah is the head of KAM."""
    year = dt.date.today().year
    heads_of_kam = [USERS["isaiah"].aad_object_id]
    # Without warming the figures at start-up: the past is seeded after it.
    async with tab_bot(
        tmp_path_factory.mktemp("steering"), warm_figures=False, head_of_kam_aad_ids=heads_of_kam
    ) as bot:
        async with bot.db.transaction() as session:
            megan = await find_person(session, Caller(USERS["megan"].aad_object_id, None, ""))
            alex = await find_person(session, Caller(USERS["alex"].aad_object_id, None, ""))
            assert megan and alex
            contoso, fabrikam = await get_account(session, CONTOSO), await get_account(session, FABRIKAM)
            await set_results(
                session, contoso, megan, year, revenue=900_000, margin=0.22, potential=3e6, share_of_wallet=0.3
            )
            await set_results(
                session, fabrikam, alex, year, revenue=400_000, margin=0.18, potential=1e6, share_of_wallet=0.6
            )
            await session.execute(
                update(Account).values(scores={"strategic_importance": 4.0, "customer_complexity": 3.0})
            )
            visit = LogContact(CONTOSO, alex, "9" * 32, dt.date.today(), ContactKind.VISIT, "Plant tour", "Hanna")
            await log_contact(session, visit)
        async with bot.db.transaction() as session:
            await session.execute(update(Contact).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
            for days, score in HEALTH_DAYS.items():  # the scores of the last days, as the daily job stored them
                on = dt.date.today() - dt.timedelta(days=days)
                session.add(AccountHealth(account_id=CONTOSO, on_date=on, score=score, parts={}))
        async with page_context() as context:
            yield Site(bot, context)


async def open_page(site: Site, url: str, width: int) -> Page:
    page = await site.context.new_page()
    await page.set_viewport_size({"width": width, "height": 900})
    await page.goto(url)
    await page.wait_for_selector("#content h2, #content .notice", timeout=15000)
    await page.wait_for_function("() => !!customElements.get('fluent-button')")
    return page


async def charts_without_text(page: Page) -> list[str]:
    """Charts that a screen reader could not read: no role img, no name, or no description."""
    return list(
        await page.eval_on_selector_all(
            "svg.chart",
            """cs => cs.filter(c => c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label')
                   || !c.querySelector('title') || !(c.querySelector('desc')?.textContent || '').trim())
                   .map(c => c.outerHTML.slice(0, 80))""",
        )
    )


PAGES = {
    "portfolio": ("/tabs/portfolio", "isaiah", "Fabrikam Logistics"),
    "insights": (f"/tabs/insights?account={CONTOSO}", "megan", "Results"),
    "insights-member": (f"/tabs/insights?account={CONTOSO}", "adele", "Information flow"),
}


@pytest.mark.parametrize("name", list(PAGES))
async def test_the_steering_pages_are_readable_in_every_theme_at_desktop_and_phone_width(site: Site, name: str) -> None:
    path, user, expected = PAGES[name]
    for size, width in WIDTHS.items():
        page = await open_page(site, site.url(path, user), width)
        assert expected in await page.inner_text("#content")
        assert await page.locator("svg.chart").count() >= 1
        assert await charts_without_text(page) == []
        assert await unnamed_controls(page) == []
        if size == "phone":
            page_width, cut = await overflow(page, width)
            assert page_width <= width and not cut, f"{name} at {width} px: {cut}"
        for theme in THEMES:
            await page.evaluate("(theme) => window.kambot.setTheme(theme)", theme)
            await page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")
            assert await contrast_failures(page) == [], f"{name}, {theme}, {size}"
            await page.screenshot(path=str(SHOTS / f"{name}-{theme}-{size}.png"), full_page=True)
        await page.close()


async def test_the_portfolio_matrix_and_the_sorting_by_a_click(site: Site) -> None:
    page = await open_page(site, site.url("/tabs/portfolio", "isaiah"), WIDTHS["desktop"])
    assert await page.locator("svg.matrix circle").count() == 2
    described = await page.eval_on_selector("svg.matrix desc", "d => d.textContent")
    assert "Contoso Pharma: Our position 30%" in described and "Fabrikam Logistics: Our position 60%" in described
    await page.click("a.sort[data-sort='name']")
    await page.wait_for_selector("th[aria-sort='descending']")
    names = await page.eval_on_selector_all("#portfolio tbody tr", "rs => rs.map(r => r.cells[0].innerText)")
    assert names == ["Fabrikam Logistics", "Contoso Pharma"]
    await page.close()


async def test_insights_shows_the_health_score_its_parts_and_its_trend_with_a_text_alternative(site: Site) -> None:
    for width in WIDTHS.values():
        page = await open_page(site, site.url(f"/tabs/insights?account={CONTOSO}", "megan"), width)
        section = page.locator("section[aria-labelledby='health-title']")
        assert "Health score" in await section.inner_text()
        assert await page.locator("#health-score").inner_text() != ""
        assert await page.locator("#health-parts tbody tr").count() == 7
        assert await page.locator("#health-parts").is_visible()
        chart = section.locator("svg.chart")
        assert await chart.count() == 1
        described = await chart.locator("desc").text_content() or ""
        days = [(dt.date.today() - dt.timedelta(days=d)).isoformat() for d in HEALTH_DAYS]
        # the days stored before, then today's as the sweep stored it
        assert described.startswith(", ".join(f"{day}: {score}" for day, score in zip(days, HEALTH_DAYS.values())))
        await section.screenshot(path=str(SHOTS / f"insights-health-{width}.png"))
        await page.close()
    page = await open_page(site, site.url(f"/tabs/insights?account={CONTOSO}", "adele"), WIDTHS["phone"])
    assert await page.locator("#health-score").count() == 1 and await page.locator("#health-parts").count() == 0
    await page.close()
