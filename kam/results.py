"""The results the company brings: revenue, margin, potential and share of wallet per account and year.

They come from the company's systems as a file (`kambot results import`, read like the key
account list: CSV or Excel, checked row by row) or from the KA manager in the Plan tab
(`set_results`; who may is the access policy's EDIT_RESULTS, asked by the caller). They are
the results side of the steering figures (kam.kpis) and the base of the dependency risk
(kam.dependency).

Columns (header names are case-insensitive; spaces, hyphens and underscores are alike):

| column | example | rule |
|---|---|---|
| account | Contoso Pharma | required: an account on the list, or `*` for the company's total |
| year | 2025 | required, 2000 to 2100 |
| revenue | 1.200.000 | an amount, 0 or more |
| margin | 23 % or 0.23 | a share of revenue, -100 % to 100 % |
| potential | 5,000,000 | the customer's whole demand we could serve, 0 or more |
| share_of_wallet | 24 % or 0.24 | 0 to 100 % |

An empty cell keeps what is stored (a figure entered in the Plan tab stays until the file
gives one). The company's total (`*`) takes the revenue only. Importing the same file again
changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.account_list import RowError, table_lines
from kam.accounts import accounts_named
from kam.errors import KamError
from kam.models import Account, CompanyFigures, Person, ResultFigures, utcnow
from kam.storage import insert_if_absent

COMPANY = "*"
FIRST_YEAR = 2000
LAST_YEAR = 2100
FIGURES = ("revenue", "margin", "potential", "share_of_wallet")
SHARES = ("margin", "share_of_wallet")
HEADERS = {
    "account": "account",
    "account_name": "account",
    "name": "account",
    "kunde": "account",
    "year": "year",
    "jahr": "year",
    "revenue": "revenue",
    "umsatz": "revenue",
    "margin": "margin",
    "marge": "margin",
    "potential": "potential",
    "potenzial": "potential",
    "share_of_wallet": "share_of_wallet",
    "sow": "share_of_wallet",
    "lieferanteil": "share_of_wallet",
}
REQUIRED = ("account", "year")


class InvalidResults(KamError):
    """Figures out of their range: one readable problem per figure."""

    code = "results.invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ResultRow:
    line: int
    account: str  # an account's name, or COMPANY
    year: int
    revenue: float | None
    margin: float | None
    potential: float | None
    share_of_wallet: float | None


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


AMOUNT_MAX = 1e15  # more than any company's revenue: beyond it a figure is a typing slip


def parse_amount(text: str) -> float | None:
    """An amount as people type it: 1200000, 1,200,000, 1.200.000, 1 200 000, 1.5, 1,5 (a decimal comma).

    One separator followed by exactly three digits is a thousands separator (1.200 and 1,200 are 1200)."""
    value = re.sub(r"[\s'\u00a0\u202f]", "", text)
    if not re.fullmatch(r"[-+]?\d[\d.,]*", value):
        return None
    if "," in value and "." in value:
        decimal = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        value = value.replace(thousands, "").replace(decimal, ".")
    elif value.count(",") > 1 or value.count(".") > 1:
        value = value.replace(",", "").replace(".", "")
    elif "," in value or "." in value:
        whole, fraction = re.split(r"[.,]", value)
        grouped = len(fraction) == 3 and whole.lstrip("+-") not in ("", "0")
        value = f"{whole}{fraction}" if grouped else f"{whole}.{fraction}"
    try:
        amount = float(value)
    except ValueError:
        return None
    return amount if math.isfinite(amount) and abs(amount) <= AMOUNT_MAX else None  # "9" * 400 is no amount


def _share(text: str) -> float | None:
    """'23 %' and '0.23' are both 0.23; a number above 1 without '%' is not a share."""
    per_cent = text.rstrip().endswith("%")
    amount = parse_amount(text.rstrip().rstrip("%"))
    if amount is None:
        return None
    return amount / 100 if per_cent else amount


def check_figures(
    year: int, revenue: float | None, margin: float | None, potential: float | None, share_of_wallet: float | None
) -> list[str]:
    """What is out of range, in words for the person who typed it (empty: all fine)."""
    problems = []
    if not FIRST_YEAR <= year <= LAST_YEAR:
        problems.append(f"the year {year} is not between {FIRST_YEAR} and {LAST_YEAR}")
    for name, value in (("revenue", revenue), ("potential", potential)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= AMOUNT_MAX):
            problems.append(f"the {name} is negative" if value < 0 else f"the {name} is beyond any revenue")
    if margin is not None and not -1 <= margin <= 1:
        problems.append("the margin is a share of revenue: write 0.23 or 23 %")
    if share_of_wallet is not None and not 0 <= share_of_wallet <= 1:
        problems.append("the share of wallet is between 0 and 100 %: write 0.24 or 24 %")
    return problems


def _year(text: str) -> int | None:
    found = re.fullmatch(r"(\d{4})(?:\.0+)?", text.strip())
    return int(found.group(1)) if found else None


def _parse_line(line: int, values: dict[str, str]) -> ResultRow | RowError:
    problems: list[str] = []
    account = re.sub(r"\s+", " ", values["account"]).strip()
    if not account:
        problems.append("the account is empty")
    elif len(account) > 200:
        problems.append("the account name is longer than 200 characters")
    year = _year(values["year"])
    if year is None:
        problems.append(f"the year {values['year']!r} is not a year like 2025")
    figures: dict[str, float | None] = {}
    for name in FIGURES:
        raw = values[name].strip()
        figures[name] = None if not raw else (_share(raw) if name in SHARES else parse_amount(raw))
        if raw and figures[name] is None:
            problems.append(f"the {name.replace('_', ' ')} {raw!r} is not a number")
    if account == COMPANY and any(figures[name] is not None for name in FIGURES[1:]):
        problems.append("the company's total (*) takes the revenue only")
    if account == COMPANY and figures["revenue"] is None:
        problems.append("the company's total (*) needs a revenue")
    if year is not None:
        problems += check_figures(year, **figures)
    if problems:
        return RowError(line, "; ".join(problems))
    assert year is not None
    return ResultRow(line, account, year, **figures)


def parse_results(table: list[list[str]]) -> tuple[list[ResultRow], list[RowError]]:
    """Valid rows and, for every other row, its line number and what is wrong with it."""
    rows: list[ResultRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, int], int] = {}
    for line, values in table_lines(table, HEADERS, REQUIRED):
        parsed = _parse_line(line, values)
        if isinstance(parsed, RowError):
            errors.append(parsed)
            continue
        key = (parsed.account.lower(), parsed.year)
        if key in seen:
            errors.append(RowError(line, f"{parsed.account!r} {parsed.year} is already on line {seen[key]}"))
            continue
        seen[key] = line
        rows.append(parsed)
    return rows, errors


def _label(row: ResultRow, account: Account | None) -> str:
    return f"{account.name if account else 'company total'} {row.year}"


async def apply_results(session: AsyncSession, rows: Iterable[ResultRow]) -> ImportReport:
    """Store the rows' figures; unknown accounts are row errors. Importing the same rows again changes nothing."""
    rows = list(rows)
    report = ImportReport()
    accounts = await accounts_named(session, (row.account for row in rows if row.account != COMPANY))
    stored = {
        (f.account_id, f.year): f
        for f in await session.scalars(
            select(ResultFigures).where(ResultFigures.account_id.in_([a.id for a in accounts.values()]))
        )
    }
    totals = {
        c.year: c
        for c in await session.scalars(
            select(CompanyFigures).where(CompanyFigures.year.in_({r.year for r in rows if r.account == COMPANY}))
        )
    }
    for row in rows:
        if row.account == COMPANY:
            assert row.revenue is not None
            _apply_total(session, row, totals, report)
            continue
        account = accounts.get(row.account.lower())
        if account is None:
            report.errors.append(RowError(row.line, f"no account named {row.account!r} on the key account list"))
            continue
        given = {name: getattr(row, name) for name in FIGURES if getattr(row, name) is not None}
        figures = stored.get((account.id, row.year))
        if figures is None:
            figures = ResultFigures(account_id=account.id, year=row.year, source="import", **given)
            session.add(figures)
            stored[(account.id, row.year)] = figures
            report.created.append(_label(row, account))
        elif all(getattr(figures, name) == value for name, value in given.items()):
            report.unchanged.append(_label(row, account))
        else:
            for name, value in given.items():
                setattr(figures, name, value)
            figures.source = "import"
            figures.updated_by_id = None
            report.updated.append(_label(row, account))
    await session.flush()
    return report


def _apply_total(
    session: AsyncSession, row: ResultRow, totals: dict[int, CompanyFigures], report: ImportReport
) -> None:
    assert row.revenue is not None
    total = totals.get(row.year)
    if total is None:
        totals[row.year] = CompanyFigures(year=row.year, revenue=row.revenue)
        session.add(totals[row.year])
        report.created.append(_label(row, None))
    elif total.revenue == row.revenue:
        report.unchanged.append(_label(row, None))
    else:
        total.revenue = row.revenue
        report.updated.append(_label(row, None))


async def set_results(
    session: AsyncSession,
    account: Account,
    person: Person,
    year: int,
    *,
    revenue: float | None,
    margin: float | None,
    potential: float | None,
    share_of_wallet: float | None,
) -> ResultFigures:
    """The figures the KA manager entered in the Plan tab for one year (None: left blank, what is stored stays, as
    an empty cell of an import leaves it). Whether they may is the caller's question (kam.access, EDIT_RESULTS).
    Raises InvalidResults."""
    problems = check_figures(year, revenue, margin, potential, share_of_wallet)
    if problems:
        raise InvalidResults(problems)
    # Two saves at once for a new year: one inserts, both then update the same row.
    await insert_if_absent(session, ResultFigures, {"account_id": account.id, "year": year}, ["account_id", "year"])
    figures = await session.scalar(
        select(ResultFigures).where(ResultFigures.account_id == account.id, ResultFigures.year == year)
    )
    assert figures is not None
    entered = {"revenue": revenue, "margin": margin, "potential": potential, "share_of_wallet": share_of_wallet}
    for name, value in entered.items():
        if value is not None:
            setattr(figures, name, value)
    figures.source = "plan"
    figures.updated_by_id = person.id
    figures.updated_at = utcnow()
    await session.flush()
    return figures
