"""Importing the customer's people from CRM exports (CSV and Excel) with `kambot stakeholders import`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from kam.migrate import upgrade
from kam.models import Account, Attitude, Stakeholder, StakeholderInfluence, StakeholderLevel, Tier
from tests.integration.test_account_list import kambot
from tests.support.cli import in_transaction

GERMAN_HEADER = [
    "Kunde",
    "Name",
    "E-Mail",
    "Titel",
    "Funktion",
    "Ebene",
    "Rolle",
    "Unterstützung",
    "Entscheidungsmacht",
    "Innerer Kreis",
    "Berichtet an",
    "Beeinflusst",
]
HEADER = [
    "Account",
    "Name",
    "Email",
    "Job title",
    "Function",
    "Level",
    "Buying role",
    "Support level",
    "Decision power",
    "Inner circle",
    "Reports to",
    "Influences",
]
GOOD = [
    ["Contoso Pharma", "Dr. Eva Klein", "Eva.Klein@contoso.example", "CFO", "Finance", "Geschäftsleitung",
     "Economic Buyer", "Mentor", "hoch", "ja", "", ""],
    ["contoso  pharma", "Max Weber", "max@contoso.example", "Head of IT", "IT", "management", "Entscheider",
     "Nicht-Befürworter", "Medium", "nein", "eva.klein@contoso.example",
     "hanna@contoso.example; eva.klein@contoso.example"],
    # No e-mail: the stored Dr. Hanna Berger by her name; her empty cells keep what is stored.
    ["Contoso Pharma", "dr. hanna berger", "", "", "", "", "GATEKEEPER", "", "", "", "max@contoso.example", ""],
    ["Fabrikam Logistics", "Maria Lopez", "maria@fabrikam.example", "Senior Buyer", "", "Operational", "user",
     "supporter", "low", "", "", ""],
]  # fmt: skip
# What the database holds after GOOD, by account and name.
IMPORTED = [
    ("Contoso Pharma", "Dr. Eva Klein", "eva.klein@contoso.example", "CFO", "Finance", "executive",
     "economic_buyer", "mentor", "high", True, None),
    ("Contoso Pharma", "Dr. Hanna Berger", "hanna@contoso.example", "Head of Procurement", None, "management",
     "gatekeeper", "neutral", None, False, "Max Weber"),
    ("Contoso Pharma", "Max Weber", "max@contoso.example", "Head of IT", "IT", "management", "decision_maker",
     "non_supporter", "medium", False, "Dr. Eva Klein"),
    ("Fabrikam Logistics", "Maria Lopez", "maria@fabrikam.example", "Senior Buyer", None, "operational", "user",
     "supporter", "low", False, None),
]  # fmt: skip
INFLUENCES = [("Max Weber", "Dr. Eva Klein"), ("Max Weber", "Dr. Hanna Berger")]


@pytest.fixture
def database(database_url: str) -> str:
    """Both databases: two key accounts (Contoso confidential: the CLI is an admin tool and imports it all the
    same), and Contoso's Dr. Hanna Berger as the team entered her."""
    upgrade(database_url)

    async def seed(session) -> None:  # type: ignore[no-untyped-def]
        contoso = Account(name="Contoso Pharma", tier=Tier.STRATEGIC_KEY_ACCOUNT, confidential=True)
        session.add_all([contoso, Account(name="Fabrikam Logistics", tier=Tier.KEY_ACCOUNT)])
        await session.flush()
        session.add(
            Stakeholder(
                account_id=contoso.id,
                name="Dr. Hanna Berger",
                email="hanna@contoso.example",
                title="Head of Procurement",
                level=StakeholderLevel.MANAGEMENT,
                attitude=Attitude.NEUTRAL,
            )
        )

    in_transaction(database_url, seed)
    return database_url


def stored(url: str) -> tuple[list[tuple], list[tuple[str, str]]]:
    async def read(session) -> tuple[list[tuple], list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
        people = list(await session.scalars(select(Stakeholder)))
        names = {s.id: s.name for s in people}
        accounts = {a.id: a.name for a in await session.scalars(select(Account))}
        rows = sorted(
            (
                accounts[s.account_id],
                s.name,
                s.email,
                s.title,
                s.function,
                s.level and s.level.value,
                s.buying_role and s.buying_role.value,
                s.attitude and s.attitude.value,
                s.decision_power and s.decision_power.value,
                s.inner_circle,
                names.get(s.reports_to_id),  # type: ignore[arg-type]
            )
            for s in people
        )
        ties = await session.scalars(select(StakeholderInfluence))
        return rows, sorted((names[t.influencer_id], names[t.influenced_id]) for t in ties)

    return in_transaction(url, read)


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows([header, *rows])
    return path


def test_a_german_csv_export_is_imported_and_importing_it_again_changes_nothing(tmp_path: Path, database: str) -> None:
    export = write_csv(tmp_path / "kontakte.csv", GOOD, GERMAN_HEADER)

    dry = kambot("stakeholders", "import", str(export), "--dry-run", database=database, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing stored" in dry.stderr and "│       3 │       1 │         0 │" in dry.stderr
    assert len(stored(database)[0]) == 1, "a dry run stores nothing"

    first = kambot("stakeholders", "import", str(export), database=database, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "│       3 │       1 │         0 │                0 │" in first.stderr, first.stderr
    assert stored(database) == (IMPORTED, INFLUENCES)

    again = kambot("stakeholders", "import", str(export), database=database, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "│       0 │       0 │         4 │" in again.stderr
    assert stored(database) == (IMPORTED, INFLUENCES)


def test_an_excel_file_matches_by_e_mail_then_name_and_keeps_what_it_leaves_empty(
    tmp_path: Path, database: str
) -> None:
    kambot("stakeholders", "import", str(write_csv(tmp_path / "first.csv", GOOD)), database=database, cwd=tmp_path)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ACCOUNT NAME", "full name", "e_mail", "Position", "Level", "Role", "Influences", "Reports-To"])
    # Eva by her e-mail, renamed; Max by his name, no longer influencing anyone but Eva; a new person under Max.
    sheet.append(["Contoso Pharma", "Dr. Eva Klein-Hofmann", "eva.klein@contoso.example", None, None, None, None, None])
    sheet.append(["Contoso Pharma", "Max Weber", None, "CIO", "Executive", None, "eva.klein@contoso.example", None])
    sheet.append(
        ["Contoso Pharma", "Ida Kron", "ida@contoso.example", None, None, "Champion", None, "max@contoso.example"]
    )
    workbook.save(tmp_path / "update.xlsx")

    result = kambot("stakeholders", "import", str(tmp_path / "update.xlsx"), database=database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "│       1 │       2 │         0 │" in result.stderr
    people, influences = stored(database)
    by_name = {row[1]: row for row in people}
    assert by_name["Dr. Eva Klein-Hofmann"][2:] == IMPORTED[0][2:], "renamed, everything else kept"
    assert "Dr. Eva Klein" not in by_name
    assert by_name["Max Weber"][3] == "CIO" and by_name["Max Weber"][5] == "executive"
    assert by_name["Max Weber"][4] == "IT" and by_name["Max Weber"][10] == "Dr. Eva Klein-Hofmann"
    assert by_name["Ida Kron"][6] == "champion" and by_name["Ida Kron"][10] == "Max Weber"
    assert influences == [("Max Weber", "Dr. Eva Klein-Hofmann")]


BAD = [
    ["Contoso Pharma", "Anna Bad", "anna@", "", "", "", "", "", "", "", "", ""],
    ["Contoso Pharma", "Rolf Role", "", "", "", "Chief", "Wizard", "fan", "huge", "perhaps", "", ""],
    ["Tailspin Toys", "Tim Tail", "", "", "", "", "", "", "", "", "", ""],
    ["Contoso Pharma", "Nora Nobody", "", "", "", "", "", "", "", "", "ghost@contoso.example", ""],
    ["Contoso Pharma", "Ada Loop", "ada@contoso.example", "", "", "", "", "", "", "", "bo@contoso.example", ""],
    ["Contoso Pharma", "Bo Loop", "bo@contoso.example", "", "", "", "", "", "", "", "ada@contoso.example", ""],
    ["Contoso Pharma", "Max Weber", "max@contoso.example", "", "", "", "", "", "", "", "", ""],
    ["Contoso Pharma", "", "", "", "", "", "", "", "", "", "", ""],
    # Right in itself, but reports to a wrong row: it waits for that one.
    ["Contoso Pharma", "Cleo Wait", "cleo@contoso.example", "", "", "", "", "", "", "", "ada@contoso.example", ""],
]


def test_valid_rows_are_applied_and_every_wrong_row_is_reported_by_line(tmp_path: Path, database: str) -> None:
    """As the account list: the valid rows in one transaction, each wrong one by its line, exit code 1."""
    export = write_csv(tmp_path / "crm.csv", [*GOOD, *BAD])
    result = kambot("stakeholders", "import", str(export), database=database, cwd=tmp_path)
    assert result.returncode == 1
    out = result.stderr
    assert "line 6: the e-mail 'anna@' is not an e-mail address" in out
    assert "line 7: level 'Chief' is not one of: operational, management, executive" in out
    assert "role 'Wizard' is not one of: decision maker, economic buyer, user" in out
    assert "support 'fan' is not one of" in out and "decision power 'huge' is not one of" in out
    assert "inner circle must be yes or no, not 'perhaps'" in out
    assert "line 8: no key account named 'Tailspin Toys'" in out
    assert "line 9: ghost@contoso.example: no stakeholder of Contoso Pharma has it" in out
    assert "line 10: reports to goes round in a circle (lines 10, 11)" in out
    assert "line 11: reports to goes round in a circle (lines 10, 11)" in out
    assert "line 12: 'Max Weber' is already on line 3" in out
    assert "line 13: the name is empty" in out
    assert "line 14: not applied: it names ada@contoso.example (line 10 is wrong)" in out
    assert "│       3 │       1 │         0 │                9 │" in out, out
    assert "Traceback" not in out
    assert stored(database) == (IMPORTED, INFLUENCES), "the valid rows are stored, and only they"


def test_a_person_reporting_to_someone_stored_who_reports_to_them_is_a_circle(tmp_path: Path, database: str) -> None:
    kambot("stakeholders", "import", str(write_csv(tmp_path / "first.csv", GOOD)), database=database, cwd=tmp_path)
    before = stored(database)
    row = ["Contoso Pharma", "Dr. Eva Klein", "", "", "", "", "", "", "", "", "max@contoso.example", ""]
    result = kambot(
        "stakeholders", "import", str(write_csv(tmp_path / "loop.csv", [row])), database=database, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "line 2: reports to goes round in a circle (lines 2)" in result.stderr
    assert stored(database) == before


def test_a_person_named_as_influencing_themselves_or_too_many_is_refused(tmp_path: Path, database: str) -> None:
    kambot("stakeholders", "import", str(write_csv(tmp_path / "first.csv", GOOD)), database=database, cwd=tmp_path)
    before = stored(database)
    many = "; ".join(f"p{n}@contoso.example" for n in range(21))
    rows = [
        # No e-mail: matched to the stored Dr. Eva Klein by name, whose own e-mail it names.
        ["Contoso Pharma", "Dr. Eva Klein", "", "", "", "", "", "", "", "", "", "eva.klein@contoso.example"],
        ["Contoso Pharma", "Max Weber", "", "", "", "", "", "", "", "", "", many],
    ]
    result = kambot(
        "stakeholders", "import", str(write_csv(tmp_path / "self.csv", rows)), database=database, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "line 2: a person cannot report to or influence themselves" in result.stderr
    assert "line 3: influences names more than 20 people" in result.stderr
    assert stored(database) == before


def test_the_sample_file_imports_as_it_is(tmp_path: Path, database: str) -> None:
    sample = Path(__file__).resolve().parents[2] / "deploy" / "stakeholders.example.csv"
    result = kambot("stakeholders", "import", str(sample), database=database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "│       4 │       0 │         0 │" in result.stderr
    people, influences = stored(database)
    assert ("Contoso Pharma", "Jonas Braun", "jonas.braun@contoso.example", "IT Architect", "IT", "management",
            "technical_influencer", "non_supporter", "medium", True, "Dr. Eva Klein") in people  # fmt: skip
    assert ("Jonas Braun", "Lena Vogt") in influences


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "does not exist"),
        ("people.pdf", b"%PDF", "use a .csv or .xlsx file"),
        ("noname.csv", b"account;email\nContoso Pharma;a@b.example\n", "the header lacks the column(s) name"),
        ("empty.csv", b"", "the file is empty"),
    ],
)
def test_unreadable_files_import_nothing_and_say_why(
    tmp_path: Path, database: str, name: str, content: bytes | None, message: str
) -> None:
    before = stored(database)
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = kambot("stakeholders", "import", str(tmp_path / name), database=database, cwd=tmp_path)
    assert result.returncode == 2
    assert "Nothing imported" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(database) == before
