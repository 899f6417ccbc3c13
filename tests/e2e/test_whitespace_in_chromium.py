"""The whitespace grid of the Plan tab in headless Chromium, as the KA manager and a member use it.

A real table (headers for its rows and columns) that scrolls inside its own box at phone width while the page
itself stays 360 px wide; each cell's status in colour and in words; readable in Teams' three themes; every
control named and reached by the keyboard. The KA manager adds a site and a solution and sets a cell; a bad
potential is refused naming the field, with everything typed still in the form. Screenshots go to
test-artifacts/tabs/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page

from kam.accounts import get_account
from kam.models import Person
from kam.people import Caller, find_person
from kam.plans import PlanContent, save_plan
from kam.whitespace import CellStatus, GridLine, WhitespaceCell, WhitespaceGrid
from tests.e2e.test_tabs_in_chromium import (
    CONTOSO,
    FABRIKAM,
    Site,
    open_tab,
    switch_theme,
)
from tests.support.chromium import contrast_failures, tab_through, unnamed_controls
from tests.support.tab_pages import SHOTS, THEMES, USERS, WIDTHS, page_context, tab_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

SITES = ["Plant Leipzig", "Plant Dresden", "Headquarters Munich"]
SOLUTIONS = ["Sterile packaging", "Service contract", "Cleanroom consulting", "Digital track and trace"]
# Where we stand, row by row (each status once at least), with the potential; Adele owns the first row's cells.
STATUSES = [
    [CellStatus.SOLD, CellStatus.PIPELINE, CellStatus.OPEN, CellStatus.NOT_RELEVANT],
    [CellStatus.LOST, CellStatus.OPEN, CellStatus.PIPELINE, CellStatus.SOLD],
    [CellStatus.OPEN, CellStatus.NOT_RELEVANT, CellStatus.LOST, CellStatus.PIPELINE],
]


def line_id(kind: str, n: int) -> str:
    return (kind * 31)[:31] + str(n)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """Contoso Pharma's plan with a 3 x 4 grid; Fabrikam's plan (Alex is its KA manager) still empty."""
    async with tab_bot(tmp_path_factory.mktemp("whitespace")) as bot:
        async with bot.db.transaction() as session:
            people = {
                u: await find_person(session, Caller(USERS[u].aad_object_id, None, "")) for u in ("megan", "adele")
            }
            megan, adele = people["megan"], people["adele"]
            assert isinstance(megan, Person) and isinstance(adele, Person)
            rows = [GridLine(id=line_id("1", n), name=name) for n, name in enumerate(SITES)]
            columns = [GridLine(id=line_id("a", n), name=name) for n, name in enumerate(SOLUTIONS)]
            cells = [
                WhitespaceCell(
                    row_id=row.id,
                    column_id=column.id,
                    status=STATUSES[r][c],
                    potential=(r + 1) * (c + 1) * 25_000,
                    owner_id=adele.id if r == 0 else megan.id,
                    note="Framework talks in May" if (r, c) == (0, 1) else "",
                )
                for r, row in enumerate(rows)
                for c, column in enumerate(columns)
            ]
            grid = WhitespaceGrid(rows=rows, columns=columns, cells=cells)
            await save_plan(session, await get_account(session, CONTOSO), megan, 0, PlanContent(whitespace=grid))
        async with page_context() as context:
            yield Site(bot, context)


# Elements outside the grid's own scrolling box that stick out of the screen: there must be none.
OUTSIDE_THE_GRID = """(width) => [...document.body.querySelectorAll("*")]
  .filter((e) => !e.closest(".ws-scroll") && e.checkVisibility({ visibilityProperty: true }))
  .filter((e) => {
    const box = e.getBoundingClientRect();
    return box.width > 1 && (box.left < -0.5 || box.right > width + 0.5);
  })
  .map((e) => e.tagName.toLowerCase() + "." + String(e.className).split(" ")[0])"""


async def cell_text(page: Page, row: int, column: int) -> str:
    return " ".join(
        (
            await page.locator(f"td[data-row='{line_id('1', row)}'][data-column='{line_id('a', column)}']").inner_text()
        ).split()
    )


@pytest.mark.parametrize("user", ["megan", "adele"])
async def test_the_grid_is_a_table_that_reads_in_every_theme_and_scrolls_in_its_own_box_on_a_phone(
    site: Site, user: str
) -> None:
    for size, width in WIDTHS.items():
        page = await open_tab(site, site.url("plan", user), width)
        headers = await page.eval_on_selector_all("#whitespace thead th[scope='col']", "hs => hs.length")
        rows = await page.eval_on_selector_all("#whitespace tbody th[scope='row']", "hs => hs.length")
        assert (headers, rows) == (len(SOLUTIONS) + 2, len(SITES)), "a header per solution, the corner and totals"
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        assert await page.evaluate(OUTSIDE_THE_GRID, width) == []
        box = await page.eval_on_selector(".ws-scroll", "b => ({ sw: b.scrollWidth, cw: b.clientWidth })")
        if size == "phone":
            assert box["sw"] > box["cw"], f"the grid scrolls sideways in its own box: {box}"
        for theme in THEMES:
            await switch_theme(page, theme)
            assert await contrast_failures(page) == [], f"{user}, {theme}, {size}"
            colours = await page.eval_on_selector_all(
                "#whitespace td.ws-cell", "cs => [...new Set(cs.map(c => getComputedStyle(c).boxShadow))].length"
            )
            # High contrast has few colours by design: there the status is told by its words and icon alone.
            if theme != "contrast":
                assert colours == len(CellStatus), f"a colour per status, {theme}"
            await page.locator(".ws-scroll").screenshot(path=str(SHOTS / f"whitespace-{user}-{theme}-{size}.png"))
            await page.screenshot(path=str(SHOTS / f"plan-whitespace-{user}-{theme}-{size}.png"), full_page=True)
        await page.close()


async def test_a_member_reads_others_cells_as_words_and_edits_only_their_own(site: Site) -> None:
    page = await open_tab(site, site.url("plan", "adele"))
    assert await cell_text(page, 1, 0) == "✕ Lost to a competitor 50,000 Megan Bowen", (
        "status in words, not colour only"
    )
    assert await page.locator("#ws-add-row").count() == 0 and await page.locator("input[name='ws-name']").count() == 0
    own = page.locator(f"td[data-row='{line_id('1', 0)}'][data-column='{line_id('a', 2)}']")
    assert await own.locator("select[name='ws-owner']").count() == 0, "an owner cannot hand the cell on"
    await own.locator("select[name='ws-status']").select_option("pipeline")
    await own.locator("input[name='ws-note']").fill("Demo booked")
    await page.click("#save-plan")
    await page.wait_for_selector("text=Saved as version 2.")
    again = await open_tab(site, site.url("plan", "megan"))
    saved = again.locator(f"td[data-row='{line_id('1', 0)}'][data-column='{line_id('a', 2)}']")
    assert await saved.locator("select[name='ws-status']").input_value() == "pipeline"
    assert await saved.locator("input[name='ws-note']").input_value() == "Demo booked"
    await page.close()
    await again.close()


async def test_controls_are_named_and_the_keyboard_reaches_each_with_a_visible_focus(site: Site) -> None:
    page = await open_tab(site, site.url("plan", "megan", theme="dark"))
    assert await unnamed_controls(page) == []
    named = await page.eval_on_selector_all(
        "#whitespace td.ws-cell select[name='ws-status']", "ss => ss.map(s => s.getAttribute('aria-label'))"
    )
    assert named[0] == "Plant Leipzig × Sterile packaging: Status"
    missed, unseen = await tab_through(page, limit=400)
    assert not missed, f"the Tab key never reaches {missed}"
    assert not unseen, f"focused without a visible focus indicator: {unseen}"
    await page.close()


async def test_the_ka_manager_adds_a_site_and_a_solution_sets_a_cell_and_a_bad_potential_loses_nothing(
    site: Site,
) -> None:
    page = await open_tab(site, site.url("plan", "alex", account=FABRIKAM), WIDTHS["phone"])
    await page.click("#ws-add-row")
    await page.keyboard.type("Hub Monterrey")
    await page.click("#ws-add-column")
    await page.keyboard.type("Service contract")
    cell = page.locator("#whitespace td.ws-cell").first
    await cell.locator("select[name='ws-status']").select_option("open")
    await cell.locator("input[name='ws-potential']").fill("lots")
    await cell.locator("select[name='ws-owner']").select_option(label="Alex Wilber")
    await page.click("#save-plan")
    notice = page.locator("fluent-message-bar.notice.problem")
    await notice.wait_for()
    assert await notice.inner_text() == "Not saved: whitespace.cells.0.potential: not a number"
    assert await page.input_value("#whitespace tbody th input") == "Hub Monterrey", "what was typed is still there"
    assert await cell.locator("input[name='ws-potential']").input_value() == "lots"
    for theme in THEMES:
        await switch_theme(page, theme)
        assert await contrast_failures(page) == [], f"the refusal, {theme}"
    await page.screenshot(path=str(SHOTS / "plan-whitespace-refused-phone.png"), full_page=True)

    await cell.locator("input[name='ws-potential']").fill("12.500")  # German thousands: 12,500
    await page.click("#save-plan")
    await page.wait_for_selector("text=Saved as version 1.")
    assert await page.input_value("#whitespace tbody th input") == "Hub Monterrey"
    saved = page.locator("#whitespace td.ws-cell").first
    assert await saved.locator("input[name='ws-potential']").input_value() == "12500"
    assert " ".join((await page.inner_text("#whitespace tfoot .ws-total")).split()) == "Open 12,500 Sold 0 Lost 0"
    await page.close()
