"""The whitespace grid over real HTTP: the KA manager builds it in the Plan tab, owners update their cells,
forged changes and bad input are refused with nothing saved, and a closed review names new opportunities and
what was lost. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kam.accounts import get_account
from kam.models import Person
from kam.people import Caller, find_person
from kam.plans import PlanContent, current_plan, save_plan
from kam.whitespace import CellStatus, GridLine, WhitespaceCell, WhitespaceGrid
from tests.integration.test_tabs import CONTOSO, Tabs, person, tabs_on
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import invoke_card, review_data, seed_plan, start, texts_in
from tests.support.harness import RunningBot
from tests.support.teams import USERS

SAXONY, BAVARIA = "1" * 32, "2" * 32
PACKAGING, SERVICE = "a" * 32, "b" * 32


@pytest.fixture
async def tabs(database_url: str, connector: ConnectorFake) -> AsyncIterator[Tabs]:
    async with tabs_on(database_url, connector) as running:
        yield running


def grid(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rows": [{"id": SAXONY, "name": "Plant Saxony"}, {"id": BAVARIA, "name": "Plant Bavaria"}],
        "columns": [{"id": PACKAGING, "name": "Sterile packaging"}, {"id": SERVICE, "name": "Service contract"}],
        "cells": cells,
    }


async def ids(tabs: Tabs) -> dict[str, int]:
    async with tabs.bot.db.transaction() as session:
        return {user: (await person(session, user)).id for user in ("megan", "adele", "alex")}


async def saved_grid(tabs: Tabs) -> WhitespaceGrid:
    async with tabs.bot.db.transaction() as session:
        return (await current_plan(session, await get_account(session, CONTOSO))).content.whitespace


def cell_html(page: str, row: str, column: str) -> str:
    found = re.search(rf'<td class="ws-cell[^"]*" data-row="{row}" data-column="{column}".*?</td>', page, re.S)
    assert found, (row, column)
    return found.group(0)


def cell_text(page: str, row: str, column: str) -> str:
    """The visible text of one cell of the grid, tags stripped and white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", cell_html(page, row, column)).split())


async def test_the_ka_manager_builds_the_grid_and_each_owner_updates_only_their_cells(tabs: Tabs) -> None:
    people = await ids(tabs)
    adeles = {
        "row_id": SAXONY,
        "column_id": PACKAGING,
        "status": "open",
        "potential": 120000,
        "owner_id": people["adele"],
    }
    alexs = {
        "row_id": BAVARIA,
        "column_id": SERVICE,
        "status": "pipeline",
        "potential": 40000,
        "owner_id": people["alex"],
    }
    lost = {"row_id": BAVARIA, "column_id": PACKAGING, "status": "lost", "potential": 15000}
    plan = {"sections": {}, "items": [], "whitespace": grid([adeles, alexs, lost])}
    status, body = await tabs.save("megan", 0, plan)
    assert status == 200 and "Saved as version 1." in body

    status, page, _ = await tabs.get(f"/tabs/plan/content?account={CONTOSO}", tabs.token("megan"))
    assert '<table id="whitespace"' in page and '<th scope="col" data-column' in page and 'scope="row"' in page
    assert "Add division or site" in page and "Add solution" in page, "the KA manager edits the lines"
    # Totals by hand: Saxony open 120,000; Bavaria sold 0, lost 15,000; the whole grid open 120,000, lost 15,000.
    totals = re.findall(r'<td class="ws-total"><dl class="ws-sums">(.*?)</dl>', page, re.S)
    as_text = [" ".join(re.sub(r"<[^>]+>", " ", t).split()) for t in totals]
    assert as_text == [
        "Open 120,000 Sold 0 Lost 0",
        "Open 0 Sold 0 Lost 15,000",
        "Open 120,000 Sold 0 Lost 15,000",
    ]

    # Adele owns one cell: she sees its inputs, and the others as text.
    status, page, _ = await tabs.get(f"/tabs/plan/content?account={CONTOSO}", tabs.token("adele"))
    assert 'name="ws-potential"' in cell_html(page, SAXONY, PACKAGING)
    assert 'name="ws-status"' not in cell_html(page, BAVARIA, SERVICE)
    assert cell_text(page, BAVARIA, SERVICE) == "➜ In pipeline 40,000 Alex Wilber"
    assert "Add division or site" not in page

    hers = adeles | {"status": "sold", "potential": 125000, "note": "Framework signed"}
    status, body = await tabs.save("adele", 1, plan | {"whitespace": grid([hers, alexs, lost])})
    assert status == 200 and "Saved as version 2." in body
    assert (await saved_grid(tabs)).cells[0].status is CellStatus.SOLD

    refusals = {
        "another's cell": grid([hers, alexs | {"status": "lost"}, lost]),
        "a cell nobody owns": grid([hers, alexs, lost | {"status": "open"}]),
        "her own owner": grid([hers | {"owner_id": people["megan"]}, alexs, lost]),
        "a new cell": grid([hers, alexs, lost, {"row_id": SAXONY, "column_id": SERVICE, "status": "open"}]),
        "a row": grid([hers, alexs, lost]) | {"rows": [{"id": SAXONY, "name": "Plant Dresden"}, grid([])["rows"][1]]},
        "a removed cell": grid([hers, alexs]),
    }
    for why, forged in refusals.items():
        status, body = await tabs.save("adele", 2, plan | {"whitespace": forged})
        assert status == 403, why
        assert "you can only change the status, potential and note of the cells you own" in body, why
    assert await tabs.versions() == 2 and (await saved_grid(tabs)).cells[1].status is CellStatus.PIPELINE

    # Alex loaded version 1: his save is refused with both versions, as for the rest of the plan.
    his = alexs | {"status": "sold"}
    status, body = await tabs.save("alex", 1, plan | {"whitespace": grid([adeles, his, lost])})
    assert status == 409 and "Adele Vance saved version 2" in body
    assert await tabs.versions() == 2


async def test_a_potential_in_fractions_of_a_cent_does_not_block_a_members_save(tabs: Tabs) -> None:
    """The tab sends back the others' cells as it shows them (two decimals): the stored value must be the same."""
    people = await ids(tabs)
    adeles = {"row_id": SAXONY, "column_id": PACKAGING, "status": "open", "owner_id": people["adele"]}
    megans = {"row_id": BAVARIA, "column_id": SERVICE, "status": "pipeline", "potential": 1234.567}
    plan = {"sections": {}, "items": [], "whitespace": grid([adeles, megans])}
    status, _ = await tabs.save("megan", 0, plan)
    assert status == 200
    assert (await saved_grid(tabs)).cells[1].potential == 1234.57, "stored as the tab shows it"
    status, page, _ = await tabs.get(f"/tabs/plan/content?account={CONTOSO}", tabs.token("adele"))
    shown = re.search(r'data-potential="([^"]*)"', cell_html(page, BAVARIA, SERVICE))
    assert shown and shown.group(1) == "1234.57"
    as_shown = megans | {"potential": float(shown.group(1))}
    status, body = await tabs.save("adele", 1, plan | {"whitespace": grid([adeles | {"status": "sold"}, as_shown])})
    assert status == 200 and "Saved as version 2." in body


async def test_bad_grid_input_is_refused_naming_the_field_and_nothing_is_saved(tabs: Tabs) -> None:
    people = await ids(tabs)
    good = {"row_id": SAXONY, "column_id": PACKAGING, "status": "open", "potential": 1000, "owner_id": people["adele"]}
    assert (await tabs.save("megan", 0, {"sections": {}, "items": [], "whitespace": grid([good])}))[0] == 200
    before = await saved_grid(tabs)
    twice = grid([good]) | {"columns": [grid([])["columns"][0], {"id": SERVICE, "name": "STERILE packaging "}]}
    bad = {
        "whitespace.cells.0.potential: cannot be less than 0": grid([good | {"potential": -5}]),
        "whitespace.cells.0.potential: not a number": grid([good | {"potential": "12 thousand"}]),
        "whitespace.columns.1.name: the name “STERILE packaging” is used twice": twice,
        "whitespace.cells.0.owner_id: not on the account team": grid([good | {"owner_id": 99999}]),
        "whitespace.cells.1: a second cell for the same row and column": grid([good, good | {"status": "sold"}]),
        "whitespace.cells.0.column_id: no such row or column in the grid": grid([good | {"column_id": "c" * 32}]),
    }
    for named, whitespace in bad.items():
        status, body = await tabs.save("megan", 1, {"sections": {}, "items": [], "whitespace": whitespace})
        assert status == 400 and f">Not saved: {named}</fluent-message-bar>" in body, named
    assert await tabs.versions() == 1 and await saved_grid(tabs) == before

    headers = {"Authorization": f"Bearer {tabs.token('megan')}"}
    negative = {"base_version": 1, "sections": {}, "items": [], "whitespace": grid([good | {"potential": -5}])}
    url = f"{tabs.bot.url}/tabs/plan/save?account={CONTOSO}&locale=de-DE"
    async with tabs.http.post(url, json=negative, headers=headers) as response:
        assert response.status == 400
        assert "Nicht gespeichert: whitespace.cells.0.potential: darf nicht kleiner als 0 sein" in await response.text()


def place(row: str, column: str, status: CellStatus, potential: float | None = None) -> WhitespaceCell:
    return WhitespaceCell(row_id=row, column_id=column, status=status, potential=potential)


async def save_grid(bot: RunningBot, *cells: WhitespaceCell) -> None:
    """The KA manager changes the grid between reviews (the Plan tab's save, without HTTP)."""
    async with bot.db.transaction() as session:
        account = await get_account(session, CONTOSO)
        megan = await find_person(session, Caller(USERS["megan"].aad_object_id, None, ""))
        assert isinstance(megan, Person)
        plan = await current_plan(session, account)
        lines = {
            "rows": [GridLine(id=SAXONY, name="Plant Saxony"), GridLine(id=BAVARIA, name="Plant Bavaria")],
            "columns": [
                GridLine(id=PACKAGING, name="Sterile packaging"),
                GridLine(id=SERVICE, name="Service contract"),
            ],
        }
        content = PlanContent(items=plan.content.items, whitespace=WhitespaceGrid(**lines, cells=list(cells)))
        await save_plan(session, account, megan, plan.version, content)


async def close(bot: RunningBot) -> dict[str, Any]:
    started = await start(bot, dt.date.today() + dt.timedelta(days=7))
    await bot.settle()
    closed = invoke_card(await bot.send(bot.teams.execute(review_data(started, "review.close"), user="megan")))
    await bot.settle()  # the summary is posted to the channel before the next review's form
    return closed


async def test_a_closed_review_names_new_opportunities_and_lost_cells_since_the_previous_one(
    bot_on_both: RunningBot,
) -> None:
    bot = bot_on_both
    await seed_plan(bot)  # version 1: objectives and actions, no grid yet
    await save_grid(
        bot, place(SAXONY, PACKAGING, CellStatus.OPEN, 100_000), place(BAVARIA, SERVICE, CellStatus.NOT_RELEVANT)
    )
    first = texts_in(await close(bot))
    # Since the first plan version (no grid): one cell became an open opportunity; not relevant is neither.
    assert (
        "New opportunities (1)" in first
        and "Plant Saxony × Sterile packaging: Open opportunity · potential 100,000" in first
    )
    assert "Lost (" not in first

    await save_grid(
        bot,
        place(SAXONY, PACKAGING, CellStatus.SOLD, 100_000),  # open -> sold
        place(SAXONY, SERVICE, CellStatus.PIPELINE),  # new, in the pipeline, no potential given
        place(BAVARIA, SERVICE, CellStatus.LOST, 20_000),  # not relevant -> lost
        place(BAVARIA, PACKAGING, CellStatus.NOT_RELEVANT),
    )
    summary = await close(bot)
    second = texts_in(summary)
    assert "New opportunities (2)" in second and "Lost (1)" in second
    assert "Plant Saxony × Sterile packaging: Sold · potential 100,000" in second
    assert "Plant Saxony × Service contract: In pipeline" in second
    assert "Plant Bavaria × Service contract: Lost to a competitor · potential 20,000" in second
    assert second.index("New opportunities") < second.index("Lost (1)")
    assert_valid_cards([summary])
