"""Importing the key account list from CRM exports (CSV and Excel), through the `kambot` command."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from kam.migrate import upgrade
from kam.models import Account, Role, Tier
from kam.storage import Database

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["Name", "Tier", "KA Manager", "Members", "Customer domains", "Countries", "Confidential"]
GOOD = [
    [
        "Contoso Pharma",
        "Strategic Key Account",
        "megan@contoso.test",
        "adele@contoso.test (service); patti@contoso.test (finance)",
        "contoso.com; contoso.de",
        "DE; AT",
        "ja",
    ],
    ["Fabrikam Logistics", "Key Account", "alex@contoso.test", "isaiah@contoso.test", "fabrikam.com", "US", "no"],
    [
        "Northwind Traders",
        "International Key Account",
        "ops@contoso.test",
        "ops-admin@contoso.test (admin)",
        "",
        "FR",
        "",
    ],
]
BAD = [
    ["", "Key Account", "a@contoso.test", "", "", "", ""],
    ["Tailspin", "Gold Customer", "a@contoso.test", "", "", "", ""],
    ["Woodgrove", "Key Account", "not-an-email", "", "", "", ""],
    ["Litware", "Key Account", "a@contoso.test", "bob (sales)", "", "", ""],
    ["Adatum", "Key Account", "a@contoso.test", "", "exa mple", "Germany", "perhaps"],
    ["contoso pharma", "Key Account", "a@contoso.test", "", "", "", ""],
]


def kambot(*args: str, database: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAMBOT_")}
    env.update({"KAMBOT_DATABASE_URL": database, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    upgrade(url)
    return url


def snapshot(url: str) -> list[tuple]:
    async def read() -> list[tuple]:
        db = Database(url)
        try:
            async with db.transaction() as session:
                accounts = await session.scalars(select(Account).order_by(Account.name))
                return [
                    (
                        a.name,
                        a.tier,
                        a.confidential,
                        a.active,
                        tuple(a.customer_domains),
                        tuple(a.countries),
                        tuple(sorted((m.person.upn, m.role, m.function or "") for m in a.members)),
                    )
                    for a in accounts
                ]
        finally:
            await db.close()

    return asyncio.run(read())


def test_a_csv_export_is_imported_bad_rows_are_reported_by_line_and_reimport_changes_nothing(
    tmp_path: Path, database: str
) -> None:
    export = tmp_path / "crm.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows([HEADER, *GOOD[:2], *BAD, GOOD[2]])

    first = kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    out = first.stderr
    assert "line 4: the name is empty" in out
    assert "line 5: unknown tier 'Gold Customer'" in out
    assert "line 6: the KA manager 'not-an-email' is not an e-mail address" in out
    assert "line 7: member 'bob (sales)' is not an e-mail address" in out
    assert "'exa mple' is not a domain name" in out and "'GERMANY' is not a two-letter country code" in out
    assert "line 8:" in out and "confidential must be yes or no, not 'perhaps'" in out
    assert "line 9: the account 'contoso pharma' is already on line 2" in out

    accounts = snapshot(database)
    assert [a[0] for a in accounts] == ["Contoso Pharma", "Fabrikam Logistics", "Northwind Traders"]
    contoso = accounts[0]
    assert contoso[1:6] == (Tier.STRATEGIC_KEY_ACCOUNT, True, True, ("contoso.com", "contoso.de"), ("DE", "AT"))
    assert contoso[6] == (
        ("adele@contoso.test", Role.MEMBER, "service"),
        ("megan@contoso.test", Role.MANAGER, ""),
        ("patti@contoso.test", Role.MEMBER, "finance"),
    )
    assert ("ops-admin@contoso.test", Role.ADMIN, "admin") in accounts[2][6]

    again = kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert snapshot(database) == accounts
    assert "│       0 │       0 │         3 │" in again.stderr


def test_an_excel_export_is_imported_and_a_shorter_list_deactivates_without_deleting(
    tmp_path: Path, database: str
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Account name", "tier", "Key-Account-Manager", "Team", "Domains", "Country", "Confidential"])
    sheet.append(
        [
            "Contoso Pharma",
            "strategic key account",
            "Megan@Contoso.test",
            "adele@contoso.test",
            "contoso.com",
            "DE",
            "no",
        ]
    )
    sheet.append(["Fabrikam Logistics", "Key Account", "alex@contoso.test", None, None, None, None])
    workbook.save(tmp_path / "crm.xlsx")
    assert kambot("accounts", "import", str(tmp_path / "crm.xlsx"), database=database, cwd=tmp_path).returncode == 0
    assert [a[0] for a in snapshot(database)] == ["Contoso Pharma", "Fabrikam Logistics"]
    assert snapshot(database)[0][6][1] == ("megan@contoso.test", Role.MANAGER, "")

    shorter = tmp_path / "shorter.csv"
    shorter.write_text("name,tier,ka_manager\nContoso Pharma,Strategic Key Account,megan@contoso.test\n")
    result = kambot("accounts", "import", str(shorter), "--remove-missing", database=database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accounts = {a[0]: a for a in snapshot(database)}
    assert accounts["Fabrikam Logistics"][3] is False, "deactivated, not deleted"
    assert accounts["Contoso Pharma"][6] == (("megan@contoso.test", Role.MANAGER, ""),)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "does not exist"),
        ("crm.pdf", b"%PDF", "use a .csv or .xlsx file"),
        ("broken.xlsx", b"not a zip", "not a readable Excel workbook"),
        ("noheader.csv", b"Contoso;Key Account\n", "the header lacks the column(s)"),
        ("empty.csv", b"", "the file is empty"),
    ],
)
def test_unreadable_files_import_nothing_and_say_why(
    tmp_path: Path, database: str, name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = kambot("accounts", "import", str(tmp_path / name), database=database, cwd=tmp_path)
    assert result.returncode == 2
    assert "Nothing imported" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(database) == []


def test_the_group_column_puts_legal_entities_of_one_customer_together(tmp_path: Path, database: str) -> None:
    header = [*HEADER, "Group"]
    rows = [
        [*GOOD[0], ""],  # the parent: named by the others, in no group of its own
        ["Contoso Pharma US", "Key Account", "alex@contoso.test", "", "", "US", "no", "Contoso Pharma"],
        ["Contoso Italia", "Key Account", "patti@contoso.test", "", "", "IT", "no", " Contoso  Pharma "],
        ["Contoso Self", "Key Account", "alex@contoso.test", "", "", "", "no", "contoso self"],  # its own name: none
        ["Tailspin", "Key Account", "alex@contoso.test", "", "", "", "no", "x" * 201],
    ]
    export = tmp_path / "crm.csv"
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    first = kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert first.returncode == 1 and "line 6: the group is longer than 200 characters" in first.stderr

    async def groups() -> dict[str, str | None]:
        db = Database(database)
        try:
            async with db.transaction() as session:
                return {a.name: a.customer_group for a in await session.scalars(select(Account))}
        finally:
            await db.close()

    assert asyncio.run(groups()) == {
        "Contoso Pharma": None,
        "Contoso Pharma US": "Contoso Pharma",
        "Contoso Italia": "Contoso Pharma",
        "Contoso Self": None,
    }
    again = kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert "│       0 │       0 │         4 │" in again.stderr, again.stderr

    # Out of the group: the cell emptied.
    rows[2][-1] = ""
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert asyncio.run(groups())["Contoso Italia"] is None

    # Two columns that both say the group: which one counts would be a guess, so nothing is imported.
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([[*header, "Parent"], [*rows[1], "Other"]])
    both = kambot("accounts", "import", str(export), database=database, cwd=tmp_path)
    assert both.returncode == 2 and "the columns Group, Parent all say group (line 1): keep one" in both.stderr
