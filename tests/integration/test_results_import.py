"""The company's results figures: imported with `kambot results import` (CSV and Excel), or entered for one account."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.migrate import upgrade
from kam.models import Account, CompanyFigures, Person, ResultFigures, Tier
from kam.results import InvalidResults, apply_results, parse_amount, parse_results, set_results
from kam.storage import Database
from tests.integration.test_account_list import kambot
from tests.support.cli import in_transaction

HEADER = ["Account", "Year", "Revenue", "Margin", "Potential", "Share of wallet"]
GOOD = [
    ["Contoso Pharma", "2025", "1.200.000", "23 %", "5,000,000", "0.24"],
    ["Fabrikam Logistics", "2025", "800000", "", "2000000", ""],
    ["*", "2025", "10.000.000", "", "", ""],
]
BAD = [
    ["Contoso Pharma", "last year", "100", "", "", ""],
    ["Contoso Pharma", "2024", "lots", "", "", ""],
    ["Contoso Pharma", "2023", "100", "230", "", ""],
    ["Contoso Pharma", "1999", "100", "", "", "140 %"],
    ["Tailspin Toys", "2025", "100", "", "", ""],
    ["contoso pharma", "2025", "1", "", "", ""],
    ["*", "2025", "", "", "", ""],
    ["*", "2024", "9000000", "0.2", "", ""],
    ["Fabrikam Logistics", "2024", "-5", "", "", ""],
]


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    upgrade(url)

    async def accounts(session: AsyncSession) -> None:
        session.add_all(
            [
                Account(name="Contoso Pharma", tier=Tier.STRATEGIC_KEY_ACCOUNT),
                Account(name="Fabrikam Logistics", tier=Tier.KEY_ACCOUNT),
                Person(name="Megan Bowen", upn="megan@contoso.test"),
            ]
        )

    in_transaction(url, accounts)
    return url


def stored(url: str) -> tuple[list[tuple], list[tuple]]:
    async def read(session: AsyncSession) -> tuple[list[tuple], list[tuple]]:
        figures = await session.execute(
            select(
                Account.name,
                ResultFigures.year,
                ResultFigures.revenue,
                ResultFigures.margin,
                ResultFigures.potential,
                ResultFigures.share_of_wallet,
                ResultFigures.source,
            )
            .join(Account, Account.id == ResultFigures.account_id)
            .order_by(Account.name, ResultFigures.year)
        )
        totals = await session.execute(select(CompanyFigures.year, CompanyFigures.revenue))
        return [tuple(r) for r in figures.all()], [tuple(r) for r in totals.all()]

    return in_transaction(url, read)


def test_a_csv_file_is_imported_bad_rows_are_reported_by_line_and_reimport_changes_nothing(
    tmp_path: Path, database: str
) -> None:
    export = tmp_path / "results.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows([HEADER, *GOOD, *BAD])

    first = kambot("results", "import", str(export), database=database, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    out = first.stderr
    assert "line 5: the year 'last year' is not a year like 2025" in out
    assert "line 6: the revenue 'lots' is not a number" in out
    assert "line 7: the margin is a share of revenue: write 0.23 or 23 %" in out
    assert "line 8: the year 1999 is not between 2000 and 2100" in out
    assert "the share of wallet is between 0 and 100 %" in out
    assert "line 9: no account named 'Tailspin Toys' on the key account list" in out
    assert "line 10: 'contoso pharma' 2025 is already on line 2" in out
    assert "line 11: the company's total (*) needs a revenue" in out
    assert "line 12: the company's total (*) takes the revenue only" in out
    assert "line 13: the revenue is negative" in out
    assert "Traceback" not in out

    figures, totals = stored(database)
    assert figures == [
        ("Contoso Pharma", 2025, 1_200_000.0, 0.23, 5_000_000.0, 0.24, "import"),
        ("Fabrikam Logistics", 2025, 800_000.0, None, 2_000_000.0, None, "import"),
    ]
    assert totals == [(2025, 10_000_000.0)]
    assert "│       3 │       0 │         0 │" in out

    again = kambot("results", "import", str(export), database=database, cwd=tmp_path)
    assert again.returncode == 1
    assert stored(database) == (figures, totals)
    assert "│       0 │       0 │         3 │" in again.stderr


def test_an_excel_file_updates_what_changed_and_keeps_what_it_leaves_empty(tmp_path: Path, database: str) -> None:
    async def entered(session: AsyncSession) -> None:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        megan = await session.scalar(select(Person))
        await set_results(
            session, contoso, megan, 2025, revenue=1_000_000, margin=0.2, potential=4_000_000, share_of_wallet=0.25
        )

    in_transaction(database, entered)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account name", "JAHR", "Umsatz", "marge", "Potenzial", "SoW"])
    sheet.append(["contoso pharma", 2025, 1_100_000, 0.21, None, None])
    sheet.append(["Fabrikam Logistics", 2025.0, 300_000.5, None, None, None])
    workbook.save(tmp_path / "results.xlsx")

    result = kambot("results", "import", str(tmp_path / "results.xlsx"), database=database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "│       1 │       1 │         0 │" in result.stderr
    figures, _ = stored(database)
    assert figures == [
        ("Contoso Pharma", 2025, 1_100_000.0, 0.21, 4_000_000.0, 0.25, "import"),
        ("Fabrikam Logistics", 2025, 300_000.5, None, None, None, "import"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "does not exist"),
        ("results.pdf", b"%PDF", "use a .csv or .xlsx file"),
        ("noyear.csv", b"account;revenue\nContoso Pharma;1\n", "the header lacks the column(s) year"),
        ("empty.csv", b"", "the file is empty"),
    ],
)
def test_unreadable_files_import_nothing_and_say_why(
    tmp_path: Path, database: str, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = kambot("results", "import", str(tmp_path / name), database=database, cwd=tmp_path)
    assert result.returncode == 2
    assert "Nothing imported" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(database) == ([], [])


def test_figures_entered_for_an_account_are_checked_and_kept_as_the_plans(database: str) -> None:
    async def enter(session: AsyncSession) -> list[tuple]:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        megan = await session.scalar(select(Person))
        with pytest.raises(InvalidResults) as refused:
            await set_results(session, contoso, megan, 2025, revenue=-1, margin=2, potential=None, share_of_wallet=None)
        assert refused.value.problems == [
            "the revenue is negative",
            "the margin is a share of revenue: write 0.23 or 23 %",
        ]
        for revenue in (500.0, 700.0):
            await set_results(
                session, contoso, megan, 2026, revenue=revenue, margin=None, potential=None, share_of_wallet=0.1
            )
        rows = await session.execute(select(ResultFigures.year, ResultFigures.revenue, ResultFigures.source))
        return [tuple(r) for r in rows.all()]

    assert in_transaction(database, enter) == [(2026, 700.0, "plan")]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1200000", 1_200_000),
        ("1,200,000", 1_200_000),
        ("1.200.000", 1_200_000),
        ("1 200 000", 1_200_000),
        ("1'200'000", 1_200_000),
        ("1.200.000,50", 1_200_000.5),
        ("1,200,000.50", 1_200_000.5),
        ("1,5", 1.5),
        ("0.125", 0.125),
        ("12.5", 12.5),
        ("300000.5", 300_000.5),
        ("-5", -5),
        ("abc", None),
        ("1.2.3,4,5", None),
        ("", None),
    ],
)
def test_amounts_are_read_as_people_type_them(text: str, amount: float | None) -> None:
    assert parse_amount(text) == amount


async def test_entering_and_importing_agree_on_both_databases(database_url: str) -> None:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            contoso = Account(name="Contoso Pharma", tier=Tier.STRATEGIC_KEY_ACCOUNT)
            megan = Person(name="Megan Bowen")
            session.add_all([contoso, megan])
            await session.flush()
            await set_results(
                session, contoso, megan, 2025, revenue=900.0, margin=0.1, potential=None, share_of_wallet=None
            )
        rows, errors = parse_results([HEADER, *GOOD])
        assert errors == []
        async with db.transaction() as session:
            first = await apply_results(session, rows)
        async with db.transaction() as session:
            second = await apply_results(session, rows)
            stored = (await session.execute(select(ResultFigures.revenue, ResultFigures.margin))).all()
    finally:
        await db.close()
    assert (first.created, first.updated, first.unchanged) == (["company total 2025"], ["Contoso Pharma 2025"], [])
    assert [e.line for e in first.errors] == [3], "Fabrikam is not on this list"
    assert (second.created, second.updated) == ([], [])
    assert second.unchanged == ["Contoso Pharma 2025", "company total 2025"]
    assert [tuple(r) for r in stored] == [(1_200_000.0, 0.23)]
