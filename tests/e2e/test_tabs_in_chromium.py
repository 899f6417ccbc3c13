"""The tab pages in headless Chromium (Debian's, driven by Playwright), as a person uses them.

Each tab in Teams' three themes (default, dark, contrast) at desktop and phone width: readable (every text at
4.5:1 or more, warnings included), nothing cut off at 360 px, every control named, everything reachable and
operable with the keyboard; the full plan's empty sections folded away; the Log marking only what waits for
the signed-in person. Screenshots go to test-artifacts/tabs/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page

from kam.accounts import get_account, stakeholders_of
from kam.contacts import LogContact, log_contact
from kam.decisions import LogDecision, log_decision
from kam.models import ContactKind, DecisionCategory
from kam.people import Caller, find_person
from kam.plans import PlanContent, PlanItem, PlanItemKind, save_plan
from tests.support.chromium import (
    contrast_failures,
    controls,
    overflow,
    tab_through,
    tab_to,
    unnamed_controls,
)
from tests.support.harness import RunningBot
from tests.support.tab_pages import SHOTS, THEMES, USERS, WIDTHS, dev_token, page_context, tab_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTOSO, FABRIKAM = 1, 2
# The Teams canvas in each theme: Fluent's colorNeutralBackground3 of the Teams light, dark and high-contrast themes.
CANVAS = {"default": "rgb(245, 245, 245)", "dark": "rgb(31, 31, 31)", "contrast": "rgb(0, 0, 0)"}
LONG_TITLE = (
    "Win the framework agreement for sterile packaging at all three Saxon plants, with a second service "
    "visit a year paid for by Contoso from 2027 on"
)
STYLE_OR_SCRIPT = ("style-src", "script-src")  # what a console message names when the policy refused either


@dataclass
class Site:
    bot: RunningBot
    context: BrowserContext

    def token(self, user: str) -> str:
        return dev_token(self.bot.settings, user)

    def url(self, kind: str, user: str = "megan", theme: str | None = None, account: int = CONTOSO) -> str:
        query = f"?account={account}" + (f"&theme={theme}" if theme else "")
        return f"{self.bot.url}/tabs/{kind}{query}#token={self.token(user)}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """Contoso Pharma with a plan (two sections written, seven empty; an objective with a long title), a contact
    Alex logged that waits for Megan, and a pricing decision of Megan's that waits for Patti. One bot and one
    browser for the module: only the test that saves changes anything, and it saves Fabrikam's plan."""
    async with tab_bot(tmp_path_factory.mktemp("tabs")) as bot:
        async with bot.db.transaction() as session:
            account = await get_account(session, CONTOSO)
            megan, alex, adele = [
                await find_person(session, Caller(USERS[name].aad_object_id, None, ""))
                for name in ("megan", "alex", "adele")
            ]
            assert megan and alex and adele
            items = [
                PlanItem(title=LONG_TITLE, kind=PlanItemKind.OBJECTIVE, owner_id=megan.id, progress=10),
                PlanItem(title="Second service visit offer", owner_id=adele.id, progress=30, comment="Draft sent"),
            ]
            sections = {
                "facts": "Three plants in Saxony; 2,400 staff.",
                "potential_targets": "Sterile packaging: 1.2 M EUR a year.",
            }
            await save_plan(session, account, megan, 0, PlanContent(sections=sections, items=items))
            hanna = next(s for s in await stakeholders_of(session, CONTOSO) if s.name == "Dr. Hanna Berger")
            today = dt.date.today()
            visit = LogContact(CONTOSO, alex, "9" * 32, today, ContactKind.VISIT, "Plant tour", "", (hanna.id,))
            await log_contact(session, visit)
            price = LogDecision(
                CONTOSO,
                megan,
                "8" * 32,
                "Second service visit is paid",
                DecisionCategory.PRICING,
                "Paid.",
                "Megan",
                today,
            )
            await log_decision(session, price)
        async with page_context() as context:
            yield Site(bot, context)


async def open_tab(site: Site, url: str, width: int = WIDTHS["desktop"]) -> Page:
    page = await site.context.new_page()
    await page.set_viewport_size({"width": width, "height": 900})
    # Fluent's components and tokens must style and run within the policy (no inline styles or scripts). The
    # Teams library's request for its domain list on Microsoft's CDN is refused by design: it uses the one it ships.
    violations: list[str] = []
    page.on("console", lambda m: violations.extend(m.text for rule in STYLE_OR_SCRIPT if rule in m.text))
    await page.goto(url)
    await page.wait_for_selector("#content h2, #content .notice", timeout=15000)
    await page.wait_for_function("() => !!customElements.get('fluent-button')")
    assert not violations, f"the page broke its own Content-Security-Policy: {violations}"
    return page


async def settled(page: Page) -> None:
    """The components' colour transitions after a change of theme have run to their end."""
    await page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")


async def switch_theme(page: Page, theme: str) -> None:
    """What Teams' theme-change event calls (tab.js registers it with Teams)."""
    await page.evaluate("(theme) => window.kambot.setTheme(theme)", theme)
    await settled(page)


async def canvas(page: Page) -> str:
    return str(await page.evaluate("getComputedStyle(document.body).backgroundColor"))


EXPECTED = {"plan": "Three plants in Saxony", "log": "Plant tour", "stakeholders": "Dr. Hanna Berger"}


@pytest.mark.parametrize("kind", list(EXPECTED))
async def test_each_tab_is_readable_in_every_theme_at_desktop_and_phone_width(site: Site, kind: str) -> None:
    for size, width in WIDTHS.items():
        page = await open_tab(site, site.url(kind), width)
        assert EXPECTED[kind] in await page.inner_text("#content") or EXPECTED[kind] in await page.input_value(
            "#section-facts"
        )
        if size == "phone":
            page_width, cut = await overflow(page, width)
            assert page_width <= width and not cut, f"{kind} at {width} px: {cut}"
        for theme in THEMES:
            await switch_theme(page, theme)
            assert await canvas(page) == CANVAS[theme], theme
            assert await contrast_failures(page) == [], f"{kind}, {theme}, {size}"
            await page.screenshot(path=str(SHOTS / f"{kind}-{theme}-{size}.png"), full_page=True)
        await page.close()


@pytest.mark.parametrize("kind", list(EXPECTED))
async def test_every_control_has_a_label_and_the_keyboard_reaches_each_with_a_visible_focus(
    site: Site, kind: str
) -> None:
    page = await open_tab(site, site.url(kind, theme="dark"))
    assert await canvas(page) == CANVAS["dark"], "?theme= opens the tab in that theme"
    assert await unnamed_controls(page) == []
    assert len(await controls(page)) >= {"plan": 30, "log": 9, "stakeholders": 0}[kind]
    unlabelled = await page.evaluate(
        """[...document.querySelectorAll('input, select, textarea')]
             .filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-labelledby')).length"""
    )
    assert unlabelled == 0, "every field has a label of its own"
    missed, unseen = await tab_through(page)
    assert not missed, f"the Tab key never reaches {missed}"
    assert not unseen, f"focused without a visible focus indicator: {unseen}"
    await page.close()


async def test_the_full_plan_folds_its_empty_sections_and_wraps_long_titles(site: Site) -> None:
    page = await open_tab(site, site.url("plan"), WIDTHS["phone"])
    opened = await page.eval_on_selector_all("details.section", "ds => ds.map(d => [d.id, d.open])")
    assert opened[:2] == [["part-facts", True], ["part-potential_targets", True]], "the written sections are open"
    assert len(opened) == 9 and not any(is_open for _, is_open in opened[2:]), "the seven empty ones are folded"
    assert (
        await page.locator("#part-customer_strategy summary").inner_text() == "The customer's strategy and needs\nempty"
    )
    title = page.locator("#items > li").first.locator("[name='title']")
    assert await title.input_value() == LONG_TITLE
    shown = await title.evaluate(
        "t => ({ sh: t.scrollHeight, ch: t.clientHeight, sw: t.scrollWidth, cw: t.clientWidth })"
    )
    assert shown["sh"] <= shown["ch"] + 1 and shown["sw"] <= shown["cw"] + 1, f"the whole title shows: {shown}"
    assert shown["ch"] > 40, "it wraps onto several lines at phone width"
    await page.close()


async def test_the_ka_manager_writes_an_empty_section_and_saves_with_the_keyboard_alone(site: Site) -> None:
    page = await open_tab(site, site.url("plan", "alex", account=FABRIKAM))
    folded = await page.eval_on_selector_all("details.section", "ds => ds.map(d => d.open)")
    assert folded == [False, False, False], "a lean plan nobody wrote yet: three folded sections"
    await tab_to(page, "#part-facts > summary")
    await page.keyboard.press("Enter")
    assert await page.eval_on_selector("#part-facts", "d => d.open"), "Enter opens a folded section"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "section-facts"
    await page.keyboard.type("Two hubs: Monterrey and Dallas.")
    await tab_to(page, "#add-item")
    await page.keyboard.press("Enter")
    await page.keyboard.type("Cross-border service contract")
    await page.keyboard.press("Enter")  # a title stays one line
    await tab_to(page, "#save-plan")
    await page.keyboard.press("Space")
    await page.wait_for_selector("text=Saved as version 1.")
    assert await page.input_value("#section-facts") == "Two hubs: Monterrey and Dallas."
    opened = await page.eval_on_selector_all("details.section", "ds => ds.map(d => d.open)")
    assert opened == [True, False, False], "the written section is open now, the others still folded"
    titles = await page.eval_on_selector_all("#items [name='title']", "ts => ts.map(t => t.value)")
    assert titles == ["Cross-border service contract"]
    for theme in THEMES:
        await switch_theme(page, theme)
        assert await contrast_failures(page) == [], f"the saved notice, {theme}"
        await page.screenshot(path=str(SHOTS / f"plan-saved-{theme}-desktop.png"), full_page=True)
    await page.close()


async def marked_rows(site: Site, user: str) -> list[str]:
    """What the Log tab marks as waiting for this person: the "What" of each marked row."""
    page = await open_tab(site, site.url("log", user))
    rows = await page.eval_on_selector_all("#log tbody tr.mine", "rs => rs.map(r => r.cells[2].innerText)")
    await page.close()
    return [" / ".join(row.split("\n")) for row in rows]


async def test_the_log_marks_only_what_waits_for_the_person_looking(site: Site) -> None:
    assert await marked_rows(site, "megan") == ["Dr. Hanna Berger / Plant tour"], "Alex's visit waits for Megan"
    assert await marked_rows(site, "patti") == ["Second service visit is paid / Paid."], "Megan's decision, for Patti"
    assert await marked_rows(site, "alex") == [], "nothing waits for Alex, though both items still wait for someone"

    page = await open_tab(site, site.url("log", "megan"), WIDTHS["phone"])
    banner = await page.inner_text("fluent-message-bar.mine")
    assert banner.startswith("One of these items waits for your acknowledgement")
    assert await page.locator("tr.mine fluent-badge").inner_text() == "Waiting for you"
    # Filtering with the keyboard alone: a letter picks the type, Space ticks the box, Enter filters.
    await tab_to(page, "#f-type")
    await page.keyboard.press("d")
    await tab_to(page, "#f-open")
    await page.keyboard.press("Space")
    await tab_to(page, "#log-filters fluent-button[type='submit']")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => document.querySelectorAll('#log tbody tr').length === 1")
    assert await page.input_value("#f-type") == "decision" and await page.is_checked("#f-open")
    assert "Second service visit is paid" in await page.inner_text("#log"), "it still waits for Patti"
    assert await page.locator("tr.mine").count() == 0 and await page.locator("fluent-message-bar.mine").count() == 0
    await page.close()


async def test_the_contrast_check_sees_faint_text_inside_fluents_components(site: Site) -> None:
    """The check this module relies on, shown to fail: the badge's text made nearly its background's colour."""
    page = await open_tab(site, site.url("log", "megan"))
    assert await contrast_failures(page) == []
    await page.eval_on_selector("tr.mine fluent-badge", "b => { b.style.color = 'rgb(98, 100, 204)'; }")
    failures = await contrast_failures(page)
    assert [f["text"] for f in failures] == ["Waiting for you"] and failures[0]["ratio"] < 1.2
    await page.close()


async def test_without_a_token_the_page_says_so_readably_and_shows_no_data(site: Site) -> None:
    page = await open_tab(site, f"{site.bot.url}/tabs/plan?account={CONTOSO}")
    assert "could not tell who you are" in await page.inner_text("#content")
    assert "Contoso" not in await page.content()
    for theme in THEMES:
        await switch_theme(page, theme)
        assert await contrast_failures(page) == [], f"the warning, {theme}"
    await page.close()


# The Teams host, as far as the pages talk to it (teams-js v2): the context (channel, locale, theme), the
# signed-in user's token, the theme-change event, and what the set-up page hands to Teams on Save.
TEAMS_HOST = """
window.teamsHost = { valid: null, config: null, saved: null, save: null, themeChanged: null };
window.microsoftTeams = {
  app: {
    initialize: async () => {},
    getContext: async () => ({ channel: { id: "%(channel)s" }, app: { locale: "en-us", theme: "%(theme)s" } }),
    registerOnThemeChangeHandler: (handler) => { window.teamsHost.themeChanged = handler; },
  },
  authentication: { getAuthToken: async () => "%(token)s" },
  pages: { config: {
    setValidityState: (valid) => { window.teamsHost.valid = valid; },
    registerOnSaveHandler: (handler) => { window.teamsHost.save = handler; },
    setConfig: async (config) => { window.teamsHost.config = config; },
  } },
};
"""


async def in_teams(site: Site, path: str, theme: str, channel: str = "channel-contoso-id") -> Page:
    page = await site.context.new_page()
    await page.set_viewport_size({"width": 600, "height": 700})
    host = TEAMS_HOST % {"channel": channel, "token": site.token("megan"), "theme": theme}
    await page.route("**/tabs/static/teams.js", lambda route: route.fulfill(body=host, content_type="text/javascript"))
    await page.goto(f"{site.bot.url}{path}")
    return page


async def test_in_teams_the_tab_takes_the_theme_teams_reports_and_follows_its_changes(site: Site) -> None:
    page = await in_teams(site, f"/tabs/log?account={CONTOSO}", theme="dark")
    await page.wait_for_selector("#content h2", timeout=15000)
    assert await canvas(page) == CANVAS["dark"], "the theme of the Teams context"
    await page.evaluate("window.teamsHost.themeChanged('contrast')")
    await settled(page)
    assert await canvas(page) == CANVAS["contrast"], "the user switched Teams to high contrast"
    assert await contrast_failures(page) == []
    await page.close()


async def test_adding_a_tab_by_hand_saves_the_chosen_tab_of_the_channels_account(site: Site) -> None:
    page = await in_teams(site, "/tabs/config", theme="default")
    await page.wait_for_selector("#account.notice", timeout=15000)
    assert await page.inner_text("#account") == "Key account: Contoso Pharma"
    assert await page.evaluate("window.teamsHost.valid") is None, "nothing chosen yet: Save stays off"
    assert await unnamed_controls(page) == []

    await page.get_by_label("Log").check()
    assert await page.evaluate("window.teamsHost.valid") is True
    await page.evaluate(
        "new Promise((done) => window.teamsHost.save({ notifySuccess: () => done(), notifyFailure: done }))"
    )
    config = await page.evaluate("window.teamsHost.config")
    assert config == {
        "entityId": "kambot-log-1",
        "contentUrl": f"{site.bot.url}/tabs/log?account=1",
        "websiteUrl": f"{site.bot.url}/tabs/log?account=1",
        "suggestedDisplayName": "Log",
    }
    await page.evaluate("window.teamsHost.themeChanged('dark')")
    await settled(page)
    assert await contrast_failures(page) == []
    await page.screenshot(path=str(SHOTS / "config-dark.png"))
    await page.close()

    other = await in_teams(site, "/tabs/config", theme="contrast", channel="channel-random-id")
    await other.wait_for_selector("#account.problem", timeout=15000)
    assert "belongs to no key account" in await other.inner_text("#account")
    assert await contrast_failures(other) == [], "the refusal is readable in high contrast"
    await other.close()
