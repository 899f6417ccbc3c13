"""The tab pages in headless Chromium (Debian's, driven by Playwright): content, themes, mobile width, saving.

Screenshots go to test-artifacts/tabs/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from bot.settings import Settings
from bot.tabs.signin import TabTokens
from kam.accounts import get_account
from kam.contacts import LogContact, log_contact
from kam.demo import PEOPLE, TENANT_ID
from kam.models import ContactKind
from kam.people import Caller, find_person
from kam.plans import PlanContent, PlanItem, save_plan
from tests.support.fakes.connector import ConnectorFake
from tests.support.harness import RunningBot, migrate_and_seed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "tabs"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONTOSO = 1
BACKGROUNDS = {"default": "rgb(255, 255, 255)", "dark": "rgb(31, 31, 31)", "contrast": "rgb(0, 0, 0)"}


@pytest.fixture
async def site(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[tuple[RunningBot, str, Browser]]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed; `make test` installs it with apt-get.")
    await migrate_and_seed(sqlite_url)
    settings = Settings(_env_file=None, nudge_weekday="off", database_url=sqlite_url, tab_dev_secret="c" * 32)  # type: ignore[call-arg]
    bot = await RunningBot(settings, connector).start()
    megan = next(p for p in PEOPLE if p.name == "Megan Bowen")
    async with bot.db.transaction() as session:
        account = await get_account(session, CONTOSO)
        manager = await find_person(session, Caller(megan.aad_object_id, None, ""))
        items = [PlanItem(title="Second service visit offer", owner_id=manager.id if manager else None, progress=30)]
        content = PlanContent(sections={"facts": "Three plants in Saxony; 2,400 staff."}, items=items)
        await save_plan(session, account, manager, 0, content)
        await log_contact(
            session, LogContact(CONTOSO, manager, "9" * 32, dt.date.today(), ContactKind.VISIT, "Plant tour", "Tom")
        )
    token = TabTokens(settings).dev_token(megan.aad_object_id, TENANT_ID, megan.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield bot, token, browser
        await browser.close()
    await bot.stop()


async def open_tab(browser: Browser, url: str, *, width: int = 1024) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": 800})
    await page.goto(url)
    await page.wait_for_selector("#content h2, #content .notice", timeout=15000)
    return page


async def test_each_tab_shows_its_content_in_every_theme_and_at_mobile_width(
    site: tuple[RunningBot, str, Browser],
) -> None:
    bot, token, browser = site
    expected = {
        "plan": "Three plants in Saxony",
        "log": "Plant tour",
        "stakeholders": "Dr. Hanna Berger",
    }
    for kind, text in expected.items():
        for theme, background in BACKGROUNDS.items():
            page = await open_tab(browser, f"{bot.url}/tabs/{kind}?account={CONTOSO}&theme={theme}#token={token}")
            assert text in await page.inner_text("#content") or text in await page.input_value("#section-facts")
            assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == background
            await page.screenshot(path=str(ARTIFACTS / f"{kind}-{theme}.png"), full_page=True)
            await page.close()
        switching = await open_tab(browser, f"{bot.url}/tabs/{kind}?account={CONTOSO}#token={token}")
        await switching.evaluate("window.kambot.setTheme('contrast')")  # what Teams' theme-change event calls
        assert await switching.evaluate("getComputedStyle(document.body).backgroundColor") == BACKGROUNDS["contrast"]
        await switching.close()
        mobile = await open_tab(browser, f"{bot.url}/tabs/{kind}?account={CONTOSO}#token={token}", width=375)
        assert await mobile.evaluate("document.documentElement.scrollWidth") <= 375, f"{kind} fits a phone"
        unlabelled = await mobile.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                 .filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label')).length"""
        )
        assert unlabelled == 0, f"every field of {kind} has a label"
        await mobile.screenshot(path=str(ARTIFACTS / f"{kind}-mobile.png"), full_page=True)
        await mobile.close()


async def test_the_ka_manager_edits_and_saves_the_plan_in_the_page(site: tuple[RunningBot, str, Browser]) -> None:
    bot, token, browser = site
    page = await open_tab(browser, f"{bot.url}/tabs/plan?account={CONTOSO}#token={token}")
    await page.fill("#section-customer_strategy", "Consolidating suppliers by 2028.")
    await page.click("#add-item")
    await page.locator("#items tbody tr").last.locator("[name='title']").fill("Supplier day in Leipzig")
    await page.click("button[type='submit']")
    await page.wait_for_selector("text=Saved as version 2.")
    assert await page.input_value("#section-customer_strategy") == "Consolidating suppliers by 2028."
    assert await page.locator("#items tbody tr").count() == 2
    await page.screenshot(path=str(ARTIFACTS / "plan-saved.png"), full_page=True)
    await page.close()


async def test_without_a_token_the_page_says_so_and_shows_no_data(site: tuple[RunningBot, str, Browser]) -> None:
    bot, _, browser = site
    page = await open_tab(browser, f"{bot.url}/tabs/plan?account={CONTOSO}")
    assert "could not tell who you are" in await page.inner_text("#content")
    assert "Contoso" not in await page.content()
    await page.close()


# The Teams host, as far as the set-up page talks to it (teams-js v2): the channel it is opened in,
# the signed-in user's token, and what the page hands to Teams when the admin presses Save.
TEAMS_HOST = """
window.teamsHost = { valid: null, config: null, saved: null, save: null };
window.microsoftTeams = {
  app: {
    initialize: async () => {},
    getContext: async () => ({ channel: { id: "%(channel)s" }, app: { locale: "en-us", theme: "default" } }),
  },
  authentication: { getAuthToken: async () => "%(token)s" },
  pages: { config: {
    setValidityState: (valid) => { window.teamsHost.valid = valid; },
    registerOnSaveHandler: (handler) => { window.teamsHost.save = handler; },
    setConfig: async (config) => { window.teamsHost.config = config; },
  } },
};
"""


async def test_adding_a_tab_by_hand_saves_the_chosen_tab_of_the_channels_account(
    site: tuple[RunningBot, str, Browser],
) -> None:
    bot, token, browser = site
    page = await browser.new_page(viewport={"width": 600, "height": 500})
    host = TEAMS_HOST % {"channel": "channel-contoso-id", "token": token}
    await page.route("**/tabs/static/teams.js", lambda route: route.fulfill(body=host, content_type="text/javascript"))
    await page.goto(f"{bot.url}/tabs/config")
    await page.wait_for_selector("#account.notice", timeout=15000)
    assert await page.inner_text("#account") == "Key account: Contoso Pharma"
    assert await page.evaluate("window.teamsHost.valid") is None, "nothing chosen yet: Save stays off"

    await page.get_by_label("Log").check()
    assert await page.evaluate("window.teamsHost.valid") is True
    await page.evaluate(
        "new Promise((done) => window.teamsHost.save({ notifySuccess: () => done(), notifyFailure: done }))"
    )
    config = await page.evaluate("window.teamsHost.config")
    assert config == {
        "entityId": "kambot-log-1",
        "contentUrl": f"{bot.url}/tabs/log?account=1",
        "websiteUrl": f"{bot.url}/tabs/log?account=1",
        "suggestedDisplayName": "Log",
    }
    await page.screenshot(path=str(ARTIFACTS / "config.png"))

    other = await browser.new_page()
    unlinked = TEAMS_HOST % {"channel": "channel-random-id", "token": token}
    await other.route(
        "**/tabs/static/teams.js", lambda route: route.fulfill(body=unlinked, content_type="text/javascript")
    )
    await other.goto(f"{bot.url}/tabs/config")
    await other.wait_for_selector("#account.problem", timeout=15000)
    assert "belongs to no key account" in await other.inner_text("#account")
