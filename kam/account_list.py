"""The key account list, as a CRM exports it (CSV or Excel): read, check row by row, apply.

Columns (header names are case-insensitive; spaces, hyphens and underscores are alike):

| column | example | rule |
|---|---|---|
| name | Contoso Pharma | required, at most 200 characters, unique in the file |
| tier | Strategic Key Account | one of the four tiers |
| ka_manager | megan@contoso.com | required, an e-mail address / UPN |
| members | adele@contoso.com (service); patti@contoso.com (finance) | e-mail with an optional function; function "admin" makes an account admin |
| customer_domains | contoso.com; contoso.de | domain names |
| countries | DE; AT | ISO 3166 two-letter codes |
| confidential | yes / no | also ja/nein, true/false, 1/0, empty = no |
| group | Contoso Pharma | the customer group (its parent account's name); empty = none, at most 200 characters |

Accounts of one group are the legal entities of one customer (the US subsidiary, the European one):
the framework agreement and price checks look across the group (kam.groups). An account named as a
group belongs to it; provisioning is the same for every account.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, AccountMember, Person, Role, Tier
from kam.text import clean_text

MAX_ROWS = 20_000
EMAIL = re.compile(r"^[^@\s;,()<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_MEMBER = re.compile(r"^\s*(?P<email>[^()\s]+)\s*(?:\((?P<function>[^()]*)\))?\s*$")

HEADERS = {
    "name": "name",
    "account": "name",
    "account_name": "name",
    "tier": "tier",
    "ka_manager": "ka_manager",
    "key_account_manager": "ka_manager",
    "manager": "ka_manager",
    "members": "members",
    "team": "members",
    "customer_domains": "customer_domains",
    "domains": "customer_domains",
    "countries": "countries",
    "country": "countries",
    "confidential": "confidential",
    "group": "group",
    "customer_group": "group",
    "parent": "group",
    "parent_account": "group",
}
REQUIRED = ("name", "tier", "ka_manager")
TIER_NAMES = {
    "key account": Tier.KEY_ACCOUNT,
    "international key account": Tier.INTERNATIONAL_KEY_ACCOUNT,
    "strategic key account": Tier.STRATEGIC_KEY_ACCOUNT,
    "corporate strategic key account": Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT,
}
YES = {"yes", "y", "ja", "j", "true", "1", "x"}
NO = {"no", "n", "nein", "false", "0", ""}


class UnreadableFile(Exception):
    """The file is not a CSV or Excel account list we can read; nothing was applied."""


@dataclass(frozen=True)
class Member:
    upn: str
    role: Role
    function: str | None


@dataclass(frozen=True)
class AccountRow:
    line: int
    name: str
    tier: Tier
    members: tuple[Member, ...]
    customer_domains: tuple[str, ...]
    countries: tuple[str, ...]
    confidential: bool
    group: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def _header_key(raw: object) -> str:
    return re.sub(r"[\s\-_]+", "_", str(raw or "").strip().lower())


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")  # Excel's "CSV" on Western European Windows
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)  # Excel writes ";" where "," is the decimal mark
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _read_xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise UnreadableFile(f"not a readable Excel workbook: {error}") from None
    sheet = workbook.worksheets[0]
    rows = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def read_table(path: Path) -> list[list[str]]:
    """The rows of the first sheet (xlsx) or of the file (csv), header first."""
    if not path.is_file():
        raise UnreadableFile(f"{path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(path.read_bytes())
    raise UnreadableFile(f"{path.name}: use a .csv or .xlsx file")


def split_list(value: str) -> list[str]:
    """'a; b, c' -> ['a', 'b', 'c']"""
    return [part.strip() for part in re.split(r"[;,\n]", value) if part.strip()]


def bad_domains(domains: Iterable[str]) -> list[str]:
    return [d for d in domains if not _DOMAIN.match(d)]


def bad_countries(countries: Iterable[str]) -> list[str]:
    return [c for c in countries if not _COUNTRY.match(c)]


def _parse_members(value: str, manager: str) -> tuple[tuple[Member, ...], list[str]]:
    members = {manager: Member(manager, Role.MANAGER, None)}
    problems = []
    for entry in re.split(r"[;\n]", value):
        if not entry.strip():
            continue
        match = _MEMBER.match(entry)
        email = match["email"].lower() if match else ""
        if not match or not EMAIL.match(email):
            problems.append(f"member {entry.strip()!r} is not an e-mail address (write: name@company.com (function))")
            continue
        function = (match["function"] or "").strip() or None
        role = Role.ADMIN if (function or "").lower() == "admin" else Role.MEMBER
        if email not in members:
            members[email] = Member(email, role, function[:60] if function else None)
    return tuple(members.values()), problems


def header_columns(
    table: list[list[str]], headers: Mapping[str, str], required: Iterable[str]
) -> list[str | None]:
    """The column each cell of the header row names (None: a column we do not read). UnreadableFile for an empty
    file, a header without a required column or with two that name the same, and for more than MAX_ROWS rows."""
    if not table:
        raise UnreadableFile("the file is empty")
    columns = [headers.get(_header_key(cell)) for cell in table[0]]
    twice = sorted({c for c in columns if c is not None and columns.count(c) > 1})
    if twice:
        named = [str(cell).strip() for cell, c in zip(table[0], columns, strict=False) if c in twice]
        raise UnreadableFile(f"the columns {', '.join(named)} all say {twice[0]} (line 1): keep one")
    missing = [name for name in required if name not in columns]
    if missing:
        raise UnreadableFile(f"the header lacks the column(s) {', '.join(missing)} (line 1)")
    if len(table) > MAX_ROWS + 1:
        raise UnreadableFile(f"more than {MAX_ROWS} rows; split the file")
    return columns


def table_lines(
    table: list[list[str]], headers: Mapping[str, str], required: Iterable[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cleaned value of each column we read) for every row of the file that is not empty; the
    header as header_columns checks it."""
    columns = header_columns(table, headers, required)
    for line, cells in enumerate(table[1:], start=2):
        values = dict.fromkeys(headers.values(), "")
        for column, cell in zip(columns, cells, strict=False):
            if column:
                values[column] = clean_text(str(cell))
        if any(v.strip() for v in values.values()):
            yield line, values


def parse_rows(table: list[list[str]]) -> tuple[list[AccountRow], list[RowError]]:
    """Valid rows and, for every other row, its line number and what is wrong with it."""
    rows: list[AccountRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, values in table_lines(table, HEADERS, REQUIRED):
        problems: list[str] = []
        name = re.sub(r"\s+", " ", values["name"])
        if not name:
            problems.append("the name is empty")
        elif len(name) > 200:
            problems.append("the name is longer than 200 characters")
        elif name.lower() in seen:
            problems.append(f"the account {name!r} is already on line {seen[name.lower()]}")
        tier = TIER_NAMES.get(re.sub(r"[\s_]+", " ", values["tier"].lower()).strip())
        if tier is None:
            problems.append(f"unknown tier {values['tier']!r} (use one of: {', '.join(t.title() for t in TIER_NAMES)})")
        manager = values["ka_manager"].lower()
        if not EMAIL.match(manager):
            problems.append(f"the KA manager {values['ka_manager']!r} is not an e-mail address")
        members, member_problems = _parse_members(values["members"], manager)
        problems += member_problems
        domains = [d.lower() for d in split_list(values["customer_domains"])]
        problems += [f"{d!r} is not a domain name" for d in bad_domains(domains)]
        countries = [c.upper() for c in split_list(values["countries"])]
        problems += [f"{c!r} is not a two-letter country code" for c in bad_countries(countries)]
        confidential = values["confidential"].lower()
        if confidential not in YES | NO:
            problems.append(f"confidential must be yes or no, not {values['confidential']!r}")
        group = re.sub(r"\s+", " ", values["group"]).strip() or None
        if group is not None and len(group) > 200:
            problems.append("the group is longer than 200 characters")
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        seen[name.lower()] = line
        rows.append(
            AccountRow(
                line=line,
                name=name,
                tier=tier,  # type: ignore[arg-type]
                members=members,
                customer_domains=tuple(dict.fromkeys(domains)),
                countries=tuple(dict.fromkeys(countries)),
                confidential=confidential in YES,
                group=None if group is not None and group.lower() == name.lower() else group,
            )
        )
    return rows, errors


async def people_by_upn(session: AsyncSession, upns: Iterable[str]) -> dict[str, Person]:
    """The people of these UPNs (lower case), those kambot does not know yet added by their UPN."""
    wanted = set(upns)
    found = {
        p.upn.lower(): p
        for p in await session.scalars(select(Person).where(func.lower(Person.upn).in_(wanted)))
        if p.upn
    }
    for upn in sorted(wanted - found.keys()):
        person = Person(upn=upn, name=upn.split("@")[0])
        session.add(person)
        found[upn] = person
    await session.flush()
    return found


def _team_of(account: Account) -> set[tuple[int, Role, str | None]]:
    return {(m.person_id, m.role, m.function) for m in account.members}


async def apply_rows(session: AsyncSession, rows: list[AccountRow], *, remove_missing: bool = False) -> ImportReport:
    """Bring the stored accounts in line with the rows; importing the same rows again changes nothing."""
    report = ImportReport()
    people = await people_by_upn(session, {m.upn for row in rows for m in row.members})
    existing = {a.name.lower(): a for a in await session.scalars(select(Account))}
    for row in rows:
        account = existing.get(row.name.lower())
        wanted_team = {(people[m.upn].id, m.role, m.function) for m in row.members}
        fields = {
            "tier": row.tier,
            "customer_domains": list(row.customer_domains),
            "countries": list(row.countries),
            "confidential": row.confidential,
            "customer_group": row.group,
            "active": True,
        }
        if account is None:
            account = Account(name=row.name, **fields)
            account.members = [
                AccountMember(person=people[m.upn], role=m.role, function=m.function) for m in row.members
            ]
            session.add(account)
            report.created.append(row.name)
            continue
        changed = (
            any(getattr(account, key) != value for key, value in fields.items()) or _team_of(account) != wanted_team
        )
        if not changed:
            report.unchanged.append(account.name)
            continue
        for key, value in fields.items():
            setattr(account, key, value)
        if _team_of(account) != wanted_team:
            # The KA managers were told once who is missing from the team: a new list does not tell them again.
            told = {m.person_id: m.missing_reported_at for m in account.members}
            account.members.clear()
            await session.flush()
            account.members.extend(
                AccountMember(
                    person=people[m.upn],
                    role=m.role,
                    function=m.function,
                    missing_reported_at=told.get(people[m.upn].id),
                )
                for m in row.members
            )
        report.updated.append(account.name)
    if remove_missing:
        listed = {row.name.lower() for row in rows}
        for key, account in existing.items():
            if key not in listed and account.active:
                account.active = False
                report.deactivated.append(account.name)
    return report
