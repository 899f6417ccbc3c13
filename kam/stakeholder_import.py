"""The customer's people, as a CRM exports them (CSV or Excel): read, check row by row, apply the valid rows.

Columns (header names are case-insensitive; spaces, hyphens and underscores are alike; English or German):

| column | example | rule |
|---|---|---|
| account | Contoso Pharma | required: a key account's name |
| name | Dr. Eva Klein | required, at most 200 characters |
| email | eva.klein@contoso.com | an e-mail address, unique among the file's people and the account's |
| title | CFO | at most 200 characters |
| function | Finance | at most 100 characters |
| level | Executive / Geschäftsleitung | operational, management, executive |
| role | Economic Buyer / Entscheider | the buying-centre role |
| support | Mentor / Befürworter | mentor, supporter, neutral, non-supporter |
| decision_power | high / hoch | low, medium, high |
| inner_circle | yes / ja | the political status: also true/false, 1/0 |
| reports_to | max.weber@contoso.com | the e-mail of another row, or of a stakeholder of the same account |
| influences | a@contoso.com; b@contoso.com | whom the person sways informally: e-mails as reports_to |

A row is matched to a stored stakeholder of its account by e-mail, else by name. An empty cell keeps what
is stored. As with the account list, the valid rows are applied in one transaction and every wrong row is
reported with its line; a row that names a wrong row (reports to it, influences it) is not applied either and
says which line it waits for. Importing the same file again changes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.account_list import EMAIL, NO, YES, RowError, split_list, table_lines
from kam.accounts import accounts_named
from kam.models import Attitude, BuyingRole, DecisionPower, Stakeholder, StakeholderInfluence, StakeholderLevel
from kam.stakeholders import INFLUENCES_MAX, NAME_MAX, in_a_cycle

HEADERS = {
    **dict.fromkeys(("account", "account_name", "key_account", "kunde", "konto", "firma", "company"), "account"),
    **dict.fromkeys(("name", "full_name", "contact", "kontakt", "ansprechpartner", "person"), "name"),
    **dict.fromkeys(("email", "e_mail", "mail", "email_address", "e_mail_adresse"), "email"),
    **dict.fromkeys(("title", "job_title", "position", "titel", "stellung"), "title"),
    **dict.fromkeys(("function", "department", "funktion", "abteilung", "bereich"), "function"),
    **dict.fromkeys(("level", "ebene", "hierarchy", "hierarchieebene"), "level"),
    **dict.fromkeys(
        ("role", "buying_role", "buying_center_role", "buying_centre_role", "rolle", "rolle_im_einkauf"), "role"
    ),
    **dict.fromkeys(("support", "support_level", "attitude", "haltung", "unterstützung"), "support"),
    **dict.fromkeys(("decision_power", "power", "entscheidungsmacht", "entscheidungskompetenz"), "decision_power"),
    **dict.fromkeys(
        ("inner_circle", "political_status", "innerer_kreis", "politischer_status", "inner_circle_member"),
        "inner_circle",
    ),
    **dict.fromkeys(("reports_to", "manager", "berichtet_an", "vorgesetzter", "vorgesetzte"), "reports_to"),
    **dict.fromkeys(("influences", "influence", "beeinflusst", "einfluss_auf"), "influences"),
}
REQUIRED = ("account", "name")
TEXT_LIMITS = {"name": NAME_MAX, "title": 200, "function": 100}


def _labels(kind: type[StrEnum], extra: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """The words a CRM writes for each value (its own, spaced, and the German ones), normalised by `_word`."""
    words = {_word(member.value): member for member in kind}
    for value, said in extra.items():
        words.update({_word(word): kind(value) for word in said})
    return words


def _word(text: str) -> str:
    return re.sub(r"[\s\-_]+", " ", text.strip().lower())


LEVELS = _labels(
    StakeholderLevel,
    {
        "operational": ("operativ", "operations", "staff", "mitarbeiter", "sachbearbeitung"),
        "management": ("manager", "middle management", "mittleres management", "abteilungsleitung", "bereichsleitung"),
        "executive": ("c level", "top management", "geschäftsleitung", "geschäftsführung", "vorstand", "exec"),
    },
)
ROLES = _labels(
    BuyingRole,
    {
        "decision_maker": ("entscheider", "entscheidungsträger", "decider"),
        "economic_buyer": ("budgetverantwortlicher", "budgetverantwortliche", "wirtschaftlicher entscheider"),
        "user": ("anwender", "nutzer", "end user"),
        "technical_influencer": ("technischer beeinflusser", "technical buyer", "technischer entscheider"),
        "gatekeeper": ("türsteher", "informationsfilter"),
        "champion": ("fürsprecher",),
        "sponsor": ("förderer", "pate"),
    },
)
SUPPORT = _labels(
    Attitude,
    {
        "mentor": ("coach",),
        "supporter": ("befürworter", "befürworterin", "unterstützer", "positive"),
        "neutral": ("neutral",),
        "non_supporter": ("nicht befürworter", "gegner", "detractor", "opponent", "kritiker", "negative"),
    },
)
POWERS = _labels(
    DecisionPower,
    {"low": ("niedrig", "gering"), "medium": ("mittel", "mid"), "high": ("hoch",)},
)


@dataclass(frozen=True)
class StakeholderRow:
    """One customer person of the file; None (and an empty tuple for influences): keep what is stored."""

    line: int
    account: str
    name: str
    email: str | None = None
    title: str | None = None
    function: str | None = None
    level: StakeholderLevel | None = None
    buying_role: BuyingRole | None = None
    attitude: Attitude | None = None
    decision_power: DecisionPower | None = None
    inner_circle: bool | None = None
    reports_to: str | None = None
    influences: tuple[str, ...] | None = None


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # the rows not applied, by line


def _choice(values: Mapping[str, str], column: str, words: Mapping[str, Any], problems: list[str]) -> Any:
    raw = values[column]
    if not raw.strip():
        return None
    found = words.get(_word(raw))
    if found is None:
        allowed = ", ".join(dict.fromkeys(member.value.replace("_", " ") for member in words.values()))
        problems.append(f"{column.replace('_', ' ')} {raw!r} is not one of: {allowed}")
    return found


def _emails(raw: str, column: str, problems: list[str]) -> tuple[str, ...]:
    emails = tuple(dict.fromkeys(e.lower() for e in split_list(raw)))
    problems += [f"{column.replace('_', ' ')} {e!r} is not an e-mail address" for e in emails if not EMAIL.match(e)]
    return emails


def _parse_line(line: int, values: dict[str, str]) -> StakeholderRow | RowError:
    problems: list[str] = []
    account = re.sub(r"\s+", " ", values["account"]).strip()
    if not account:
        problems.append("the account is empty")
    texts = {name: re.sub(r"\s+", " ", values[name]).strip() or None for name in TEXT_LIMITS}
    if not texts["name"]:
        problems.append("the name is empty")
    for name, limit in TEXT_LIMITS.items():
        if len(texts[name] or "") > limit:
            problems.append(f"the {name} is longer than {limit} characters")
    email = values["email"].strip().lower() or None
    if email is not None and not EMAIL.match(email):
        problems.append(f"the e-mail {values['email'].strip()!r} is not an e-mail address")
    chosen = {
        "level": _choice(values, "level", LEVELS, problems),
        "buying_role": _choice(values, "role", ROLES, problems),
        "attitude": _choice(values, "support", SUPPORT, problems),
        "decision_power": _choice(values, "decision_power", POWERS, problems),
    }
    inner = _word(values["inner_circle"])
    if inner and inner not in YES | NO:
        problems.append(f"inner circle must be yes or no, not {values['inner_circle']!r}")
    reports_to = _emails(values["reports_to"], "reports_to", problems)
    if len(reports_to) > 1:
        problems.append("reports to names more than one person")
    influences = _emails(values["influences"], "influences", problems)
    if len(influences) > INFLUENCES_MAX:
        problems.append(f"influences names more than {INFLUENCES_MAX} people")
    row = StakeholderRow(
        line,
        account,
        texts["name"] or "",
        email,
        texts["title"],
        texts["function"],
        **chosen,
        inner_circle=(inner in YES) if inner else None,
        reports_to=reports_to[0] if reports_to else None,
        influences=influences or None,
    )
    if email is not None and email in (row.reports_to, *(influences or ())):
        problems.append("a person cannot report to or influence themselves")
    return RowError(line, "; ".join(problems)) if problems else row


def parse_stakeholders(table: list[list[str]]) -> tuple[list[StakeholderRow], list[RowError]]:
    """Valid rows and, for every other row, its line number and what is wrong with it."""
    rows: list[StakeholderRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for line, values in table_lines(table, HEADERS, REQUIRED):
        parsed = _parse_line(line, values)
        if isinstance(parsed, RowError):
            errors.append(parsed)
            continue
        keys = [("email", parsed.email)] if parsed.email else []
        keys.append(("name", f"{parsed.account.lower()}\n{parsed.name.lower()}"))
        twice = next((seen[k] for k in keys if k in seen), None)
        if twice is not None:
            errors.append(RowError(line, f"{parsed.name!r} is already on line {twice}"))
            continue
        seen.update(dict.fromkeys(keys, line))
        rows.append(parsed)
    return rows, errors


@dataclass
class _Planned:
    """A row, the stakeholder it is about (stored, or new), and what applying it did."""

    row: StakeholderRow
    stakeholder: Stakeholder
    outcome: str = "unchanged"  # "created", "updated"


async def _stored_people(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, list[Stakeholder]]:
    stored: dict[int, list[Stakeholder]] = {}
    query = select(Stakeholder).where(Stakeholder.account_id.in_(list(account_ids))).order_by(Stakeholder.id)
    for stakeholder in await session.scalars(query):
        stored.setdefault(stakeholder.account_id, []).append(stakeholder)
    return stored


def _match(row: StakeholderRow, people: list[Stakeholder]) -> Stakeholder | None:
    """The stored stakeholder a row is about: the one with its e-mail, else the one with its name."""
    by_email = next((s for s in people if row.email is not None and s.email == row.email), None)
    return by_email or next((s for s in people if s.name.lower() == row.name.lower()), None)


# The row's value for each stakeholder column (an empty cell, None, keeps the stored value).
FIELDS = ("name", "email", "title", "function", "level", "buying_role", "attitude", "decision_power", "inner_circle")


async def apply_stakeholders(
    session: AsyncSession, rows: list[StakeholderRow], on_progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Bring the stored stakeholders in line with the valid rows; the others are in the report's errors, by line.
    Importing the same rows again changes nothing."""
    accounts = await accounts_named(session, (row.account for row in rows))
    stored = await _stored_people(session, (a.id for a in accounts.values()))
    errors: list[RowError] = []
    planned: list[_Planned] = []
    for row in rows:
        account = accounts.get(row.account.lower())
        if account is None:
            errors.append(RowError(row.line, f"no key account named {row.account!r}"))
            continue
        people = stored.setdefault(account.id, [])
        stakeholder = _match(row, people)
        namesake = next((s for s in people if s is not stakeholder and s.name.lower() == row.name.lower()), None)
        if namesake is not None:
            errors.append(RowError(row.line, f"{account.name} has another stakeholder named {namesake.name!r}"))
            continue
        twice = next((p for p in planned if p.stakeholder is stakeholder), None)
        if twice is not None:
            errors.append(
                RowError(row.line, f"line {twice.row.line} is about the same stakeholder, {twice.row.name!r}")
            )
            continue
        planned.append(_Planned(row, stakeholder or Stakeholder(account_id=account.id, name=row.name)))
    refused: dict[tuple[int, str], int] = {}  # the e-mails of the rows left out, with their lines
    while wrong := _reference_errors(planned, stored, refused):
        errors += wrong
        lines = {e.line for e in wrong}
        refused |= {
            (p.stakeholder.account_id, p.row.email): p.row.line for p in planned if p.row.line in lines and p.row.email
        }
        planned = [p for p in planned if p.row.line not in lines]
    await _write(session, planned, stored, on_progress)
    report = ImportReport(errors=sorted(errors, key=lambda e: e.line))
    for p in planned:
        getattr(report, p.outcome).append(f"{p.stakeholder.name} ({p.row.account})")
    return report


def _by_email(planned: list[_Planned], stored: Mapping[int, list[Stakeholder]]) -> dict[tuple[int, str], Stakeholder]:
    """Whom an e-mail names on an account: a row of the file (with its new e-mail), else a stored stakeholder."""
    named = {(s.account_id, s.email): s for people in stored.values() for s in people if s.email}
    return named | {(p.stakeholder.account_id, p.row.email): p.stakeholder for p in planned if p.row.email}


def _reference_errors(
    planned: list[_Planned], stored: Mapping[int, list[Stakeholder]], refused: Mapping[tuple[int, str], int]
) -> list[RowError]:
    """Reports-to and influence e-mails of nobody on the row's account (or of a row left out), and reports-to
    chains that go round."""
    errors: list[RowError] = []
    named = _by_email(planned, stored)
    by_id = {s.id: s for people in stored.values() for s in people}
    # Who reports to whom once the file is applied, by object: new stakeholders have no id yet.
    chart: dict[int, int | None] = {
        id(s): id(by_id[s.reports_to_id]) if s.reports_to_id in by_id else None for s in by_id.values()
    }
    for p in planned:
        account_id = p.stakeholder.account_id
        unknown = [e for e in (p.row.reports_to, *(p.row.influences or ())) if e and (account_id, e) not in named]
        waiting = [f"{e} (line {refused[(account_id, e)]} is wrong)" for e in unknown if (account_id, e) in refused]
        if waiting:
            errors.append(RowError(p.row.line, f"not applied: it names {', '.join(waiting)}"))
        elif unknown:
            errors.append(RowError(p.row.line, f"{', '.join(unknown)}: no stakeholder of {p.row.account} has it"))
        elif any(named[(account_id, e)] is p.stakeholder for e in (p.row.reports_to, *(p.row.influences or ())) if e):
            errors.append(RowError(p.row.line, "a person cannot report to or influence themselves"))
        elif p.row.reports_to is not None:
            chart[id(p.stakeholder)] = id(named[(account_id, p.row.reports_to)])
    line_of = {id(p.stakeholder): p.row.line for p in planned}
    for p in planned:
        if p.row.reports_to is not None and in_a_cycle(chart, id(p.stakeholder)):
            lines = sorted(line_of[member] for member in _circle(chart, id(p.stakeholder)) if member in line_of)
            listed = ", ".join(str(line) for line in lines)
            errors.append(RowError(p.row.line, f"reports to goes round in a circle (lines {listed})"))
    return errors


def _circle(chart: Mapping[int, int | None], start: int) -> list[int]:
    """The people on the reports-to circle through `start` (which in_a_cycle found)."""
    members, current = [start], chart.get(start)
    while current is not None and current != start:
        members.append(current)
        current = chart.get(current)
    return members


def _same(stored: Any, value: Any) -> bool:
    """A name written in other capitals is the same name: the stored spelling stays."""
    return stored == value or (isinstance(stored, str) and isinstance(value, str) and stored.lower() == value.lower())


async def _write(
    session: AsyncSession,
    planned: list[_Planned],
    stored: Mapping[int, list[Stakeholder]],
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """The checked rows into the stakeholders: their fields first, then (everyone has an id) who reports to and
    influences whom."""
    for p in planned:
        updates = {name: getattr(p.row, name) for name in FIELDS if getattr(p.row, name) is not None}
        updates = {name: value for name, value in updates.items() if not _same(getattr(p.stakeholder, name), value)}
        if p.stakeholder.id is None:
            p.outcome = "created"
            session.add(p.stakeholder)
        elif updates:
            p.outcome = "updated"
        for name, value in updates.items():
            setattr(p.stakeholder, name, value)
    await session.flush()
    named = _by_email(planned, stored)
    swaying: dict[int, tuple[int, set[int]]] = {}  # influencer -> (account, whom the row says they sway)
    for done, p in enumerate(planned, start=1):
        account_id = p.stakeholder.account_id
        boss = named[(account_id, p.row.reports_to)].id if p.row.reports_to is not None else None
        if boss is not None and p.stakeholder.reports_to_id != boss:
            p.stakeholder.reports_to_id = boss
            p.outcome = "updated" if p.outcome == "unchanged" else p.outcome
        if p.row.influences is not None:
            swaying[p.stakeholder.id] = (account_id, {named[(account_id, e)].id for e in p.row.influences})
        if on_progress is not None:
            on_progress(done, len(planned))
    swayed_changed = await _set_influences(session, swaying)
    for p in planned:
        if p.stakeholder.id in swayed_changed and p.outcome == "unchanged":
            p.outcome = "updated"
    await session.flush()


# Row ids per DELETE: well under the bound parameters a statement may carry (PostgreSQL's driver: 32,767).
DELETE_CHUNK = 5000


async def _set_influences(session: AsyncSession, swaying: Mapping[int, tuple[int, set[int]]]) -> set[int]:
    """Make these whom each influencer sways (influencer id -> (account id, influenced ids)), in a few statements
    whatever their number (kam.stakeholders.set_influences is the one-person form's); the influencers it changed."""
    if not swaying:
        return set()
    stored: dict[int, dict[int, int]] = defaultdict(dict)  # influencer -> influenced -> the row's id
    rows = await session.execute(
        select(StakeholderInfluence.id, StakeholderInfluence.influencer_id, StakeholderInfluence.influenced_id).where(
            StakeholderInfluence.account_id.in_({account_id for account_id, _ in swaying.values()})
        )
    )
    for row_id, influencer, influenced in rows.all():
        stored[influencer][influenced] = row_id
    gone = [
        row_id
        for influencer, (_, wanted) in swaying.items()
        for influenced, row_id in stored[influencer].items()
        if influenced not in wanted
    ]
    new = [
        StakeholderInfluence(account_id=account_id, influencer_id=influencer, influenced_id=influenced)
        for influencer, (account_id, wanted) in swaying.items()
        for influenced in sorted(wanted - stored[influencer].keys())
    ]
    for start in range(0, len(gone), DELETE_CHUNK):
        chunk = gone[start : start + DELETE_CHUNK]
        await session.execute(delete(StakeholderInfluence).where(StakeholderInfluence.id.in_(chunk)))
    session.add_all(new)
    return {influencer for influencer, (_, wanted) in swaying.items() if wanted != stored[influencer].keys()}
