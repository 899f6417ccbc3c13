"""The `kambot` command."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from aiohttp import web
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bot.admin.provisioning import build_provisioner, provisioning_problems
from bot.settings import Settings
from graph.permissions import TEAM_MEMBERS_ADD

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from graph.provisioning import Step, Summary
    from kam.account_list import RowError

T = TypeVar("T")
R = TypeVar("R")  # a parsed row of an import

app = typer.Typer(help="kambot: one consistent message to your key accounts, in Microsoft Teams.", no_args_is_help=True)
db_app = typer.Typer(help="The database: create it or bring it to the current schema.", no_args_is_help=True)
demo_app = typer.Typer(help="A demo portfolio for the local Agents Playground.", no_args_is_help=True)
accounts_app = typer.Typer(help="The key account list.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(demo_app, name="demo")
services_app = typer.Typer(help="The service catalogue (KAMBOT_SERVICES_FILE).", no_args_is_help=True)
app.add_typer(services_app, name="services")
selection_app = typer.Typer(help="The key account selection (KAMBOT_SELECTION_FILE).", no_args_is_help=True)
app.add_typer(selection_app, name="selection")
results_app = typer.Typer(help="The results figures per account and year (revenue, margin, ...).", no_args_is_help=True)
app.add_typer(results_app, name="results")
stakeholders_app = typer.Typer(help="The customer's people on each key account.", no_args_is_help=True)
app.add_typer(stakeholders_app, name="stakeholders")
outbox_app = typer.Typer(help="Messages the bot owes: the ones that failed, and sending them again.")
app.add_typer(outbox_app, name="outbox")
console = Console(stderr=True, soft_wrap=True)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "agentsplayground"
PLAYGROUND_CONFIG = PROJECT_ROOT / ".m365agentsplayground.yml"
DEMO_SERVICES = PROJECT_ROOT / "deploy" / "services.example.yaml"


def _settings() -> Settings:
    """The configuration, or a clear list of what is wrong with it."""
    try:
        return Settings()
    except ValidationError as error:
        console.print("[red]✗[/] The configuration is not valid:")
        for problem in error.errors():
            name = "KAMBOT_" + "_".join(str(part) for part in problem["loc"]).upper() if problem["loc"] else "settings"
            console.print(f"  {name}: {problem['msg']}")
        raise typer.Exit(2) from None


def _configure_logging() -> None:
    """JSON lines for log collectors; KAMBOT_LOG_FORMAT=text for a person at a terminal (`kambot dev`)."""
    level = os.environ.get("KAMBOT_LOG_LEVEL", "INFO")
    if os.environ.get("KAMBOT_LOG_FORMAT", "json") == "text":
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        from bot.logs import configure

        configure(level)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision; 'head' is the newest.")) -> None:
    """Create the database or migrate it to the newest schema (safe to run again)."""
    from kam.migrate import upgrade

    settings = _settings()
    try:
        upgrade(settings.database_url, revision)
    except Exception as error:  # noqa: BLE001 - shown to the operator, who can act on it
        console.print(
            f"[red]✗[/] Could not migrate {_safe_url(settings.database_url)}: {type(error).__name__}: {error}"
        )
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/] database at revision {revision}: {_safe_url(settings.database_url)}")


@outbox_app.callback(invoke_without_command=True)
def outbox_list(context: typer.Context) -> None:
    """List the messages that failed and wait for a person (the KA managers were told)."""
    if context.invoked_subcommand is not None:
        return
    from kam.outbox import failed_messages

    rows = asyncio.run(_in_session(failed_messages))
    if not rows:
        console.print("[green]✓[/] no failed messages")
        return
    table = Table("id", "kind", "account", "attempts", "last error")
    for row in rows:
        table.add_row(str(row.id), row.kind, str(row.account_id or ""), str(row.attempts), (row.last_error or "")[:80])
    console.print(table)
    console.print('Fix the cause, then run "kambot outbox retry" (or "--id N" for one).')


@outbox_app.command("retry")
def outbox_retry(ids: list[int] = typer.Option(None, "--id", help="Only these messages (repeat --id).")) -> None:
    """Put failed messages back in the queue; a running bot or worker sends them on its next sweep."""
    from kam.outbox import retry_failed

    count = asyncio.run(_in_session(lambda session: retry_failed(session, ids or None)))
    console.print(f"[green]✓[/] {count} message(s) queued again")


async def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from kam.storage import Database

    db = Database(_settings().database_url)
    try:
        async with db.transaction() as session:
            return await work(session)
    finally:
        await db.close()


@demo_app.command("seed")
def demo_seed() -> None:
    """Add the demo accounts (Contoso Pharma, Fabrikam Logistics) if they are missing."""
    from kam.demo import seed_demo
    from kam.storage import Database

    async def run() -> int:
        db = Database(_settings().database_url)
        try:
            async with db.transaction() as session:
                return await seed_demo(session)
        finally:
            await db.close()

    created = asyncio.run(run())
    console.print(f"[green]✓[/] demo portfolio ready ({created} account(s) created)")


@accounts_app.command("import")
def accounts_import(
    file: Path = typer.Argument(..., help="CSV or Excel (.xlsx) export of the key account list."),
    remove_missing: bool = typer.Option(
        False, "--remove-missing", help="Deactivate accounts that are not in the file (their data is kept)."
    ),
) -> None:
    """Import the key account list: valid rows are applied, every other row is reported by line.

    Importing the same file again changes nothing. Exit code 1 when some rows had errors.
    """
    from kam.account_list import apply_rows, parse_rows

    rows, errors = _read_rows(file, parse_rows)
    report = asyncio.run(_in_session(lambda session: apply_rows(session, rows, remove_missing=remove_missing)))
    counts = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deactivated": report.deactivated,
    }
    _import_report(f"Key account list from {file.name}", counts, errors)


def _read_rows(
    file: Path, parse: Callable[[list[list[str]]], tuple[list[R], list[RowError]]]
) -> tuple[list[R], list[RowError]]:
    """The rows of a CSV or Excel file, parsed; an unreadable one stops here with its reason (exit code 2)."""
    from kam.account_list import UnreadableFile, read_table

    try:
        return parse(read_table(file))
    except UnreadableFile as error:
        console.print(f"[red]✗[/] Nothing imported: {error}")
        raise typer.Exit(2) from None


def _import_report(title: str, counts: dict[str, list[str]], errors: list[RowError]) -> None:
    """What an import did, as a table, then every row it could not take by its line (exit code 1 if any)."""
    table = Table(title=title)
    for column in (*counts, "rows with errors"):
        table.add_column(column, justify="right")
    table.add_row(*(str(len(done)) for done in counts.values()), str(len(errors)))
    console.print(table)
    for row_error in sorted(errors, key=lambda e: e.line):
        console.print(f"[red]✗[/] line {row_error.line}: {row_error.reason}")
    if errors:
        raise typer.Exit(1)


@results_app.command("import")
def results_import(
    file: Path = typer.Argument(..., help="CSV or Excel (.xlsx): account, year, revenue, margin, potential, ..."),
) -> None:
    """Import the results figures: valid rows are applied, every other row is reported by line.

    Importing the same file again changes nothing. Exit code 1 when some rows had errors.
    """
    from kam.results import apply_results, parse_results

    rows, errors = _read_rows(file, parse_results)
    report = asyncio.run(_in_session(lambda session: apply_results(session, rows)))
    counts = {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}
    _import_report(f"Results figures from {file.name}", counts, [*errors, *report.errors])


@stakeholders_app.command("import")
def stakeholders_import(
    file: Path = typer.Argument(
        ..., help="CSV or Excel (.xlsx) CRM export: account, name, e-mail, role, reports to, ..."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the file and say what it would change; store nothing."
    ),
) -> None:
    """Import the customer's people: valid rows are applied, every other row is reported by line.

    A row that names a wrong row (reports to it, influences it) waits for it. Importing the same file again changes
    nothing. Exit code 1 when some rows had errors.
    """
    from kam.stakeholder_import import apply_stakeholders, parse_stakeholders

    title = f"Stakeholders from {file.name}" + (" (dry run: nothing stored)" if dry_run else "")
    rows, errors = _read_rows(file, parse_stakeholders)

    async def apply(session: AsyncSession) -> tuple[dict[str, list[str]], list[RowError]]:
        with _progress("Importing stakeholders", len(rows)) as advance:
            report = await apply_stakeholders(session, rows, advance)
        counts = {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}
        if dry_run:
            raise _NothingStored(counts, report.errors)
        return counts, report.errors

    try:
        counts, refused = asyncio.run(_in_session(apply))
    except _NothingStored as undone:
        counts, refused = undone.counts, undone.errors
    _import_report(title, counts, [*errors, *refused])


class _NothingStored(Exception):
    """Leaves an import's transaction, so that nothing it did is committed (a dry run)."""

    def __init__(self, counts: dict[str, list[str]], errors: list[RowError]) -> None:
        super().__init__("nothing stored")
        self.counts, self.errors = counts, errors


# Files of fewer rows import in a blink: no progress bar for them.
PROGRESS_FROM_ROWS = 200


@contextlib.contextmanager
def _progress(title: str, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on the console for a long import (None for a short one): call it with (done, total)."""
    if total < PROGRESS_FROM_ROWS:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as progress:
        task = progress.add_task(title, total=total)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@services_app.command("check")
def services_check(
    file: Path = typer.Argument(None, help="A catalogue (.yaml or .xlsx); default: KAMBOT_SERVICES_FILE."),
) -> None:
    """Read a service catalogue as kambot will at start-up: every service, its names and synonyms per language, or
    where the file is wrong. Exit code 2 when it cannot be used."""
    from kam.catalogue import Catalogue, CatalogueError

    path = str(file) if file else _settings().services_file
    if not path:
        console.print("No catalogue: KAMBOT_SERVICES_FILE is not set (forms offer free text only).")
        return
    try:
        catalogue = Catalogue.load(path)
    except CatalogueError as error:
        console.print(f"[red]✗[/] {path} cannot be used: {error}")
        raise typer.Exit(2) from None
    languages = list(catalogue.languages) or sorted({lang for s in catalogue.services for lang in s.names})
    table = Table(title=f"{len(catalogue.services)} service(s) in {Path(path).name}")
    table.add_column("id")
    for language in languages:
        table.add_column(language)
    table.add_column("synonyms", justify="right")
    for service in catalogue.services:
        names = [service.names.get(language, "—") for language in languages]
        table.add_row(service.id, *names, str(sum(len(words) for words in service.synonyms.values())))
    console.print(table)
    console.print(f"[green]✓[/] {path} can be used")


@selection_app.command("check")
def selection_check(
    file: Path = typer.Argument(None, help="A selection file (.yaml); default: KAMBOT_SELECTION_FILE."),
) -> None:
    """Read a selection file as kambot will at start-up: the criteria and weights, the tier thresholds, the list
    review's cadence, the dependency thresholds and the health score's weights, or where the file is wrong. Exit code
    2 when it cannot be used."""
    from kam.selection import Selection, SelectionFileError

    path = str(file) if file else _settings().selection_file
    if not path:
        console.print("No selection file: KAMBOT_SELECTION_FILE is not set (the defaults apply).")
    try:
        selection = Selection.load(path)
    except SelectionFileError as error:
        console.print(f"[red]✗[/] {path} cannot be used: {error}")
        raise typer.Exit(2) from None
    criteria = Table(title="Criteria (each scored 0..5)")
    criteria.add_column("criterion")
    criteria.add_column("weight", justify="right")
    for criterion in selection.criteria:
        criteria.add_row(criterion.name("en") or criterion.key, f"{criterion.weight:g}")
    console.print(criteria)
    tiers = Table(title="Tiers (lowest weighted score)")
    tiers.add_column("tier")
    tiers.add_column("from score", justify="right")
    for tier, threshold in sorted(selection.tiers.items(), key=lambda pair: pair[1]):
        tiers.add_row(tier.value, f"{threshold:g}")
    console.print(tiers)
    console.print(f"List review every {selection.review_every_days} days")
    console.print("Dependency thresholds: " + ", ".join(f"{k} {v:g}" for k, v in selection.dependency.items()))
    health = selection.health
    console.print("Health score weights: " + ", ".join(f"{part} {weight:g}" for part, weight in health.weights.items()))
    console.print(f"Health drop alert: more than {health.drop_alert:g} points below {health.compare_days} days earlier")
    if path:
        console.print(f"[green]✓[/] {path} can be used")


@app.command()
def provision(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be created, renamed or archived; change nothing."
    ),
) -> None:
    """Bring the tenant in line with the account list: a channel per key account, with Plan, Log and Stakeholders tabs.

    Safe to run again and to interrupt: a second run creates nothing new, an interrupted one is finished by the next.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from graph.gateway import GraphFailure

    settings = _settings()
    problems = provisioning_problems(settings)
    if problems:
        console.print("[red]✗[/] Provisioning needs more configuration:")
        for problem in problems:
            console.print(f"  {problem}")
        raise typer.Exit(2)
    provisioner = build_provisioner(settings)

    async def run() -> list[Step] | Summary:
        try:
            if dry_run:
                return await provisioner.plan()
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("Provisioning accounts", total=None)
                provisioner.on_progress = lambda done, total: progress.update(task, completed=done, total=total)
                return await provisioner.run()
        finally:
            await provisioner.db.close()

    try:
        result = asyncio.run(run())
    except GraphFailure as failure:
        console.print(f"[red]✗[/] Microsoft Graph refused: {failure}")
        raise typer.Exit(1) from None
    if isinstance(result, list):  # --dry-run: the plan
        table = Table(title="Provisioning plan (nothing was changed)")
        for column in ("account", "action", "detail"):
            table.add_column(column)
        for step in result:
            table.add_row(step.account, step.action, step.detail)
        console.print(table if result else "[green]✓[/] Nothing to do: the tenant matches the account list.")
        return
    print_summary(result)
    if result.failed:
        raise typer.Exit(1)


def print_summary(summary: Summary) -> None:
    table = Table(title="Provisioning summary")
    figures = {
        "channels created": summary.channels_created,
        "channels adopted": summary.channels_adopted,
        "private channels replaced": summary.channels_replaced,
        "tabs added": summary.tabs_added,
        "apps installed": summary.apps_installed,
        "welcomes queued": summary.welcomes_queued,
        "archived": summary.archived,
        "channel members changed": summary.channel_members_changed,
        "team members added": summary.team_members_added,
        "unchanged": summary.unchanged,
        "failed": len(summary.failed),
    }
    for name in figures:
        table.add_column(name, justify="right")
    table.add_row(*(str(v) for v in figures.values()))
    console.print(table)
    for account, reason in summary.failed:
        console.print(f"[red]✗[/] {account}: {reason}")
    if summary.missing:
        title = "Not in the team of their account's channel: they do not see it, kambot cannot write to them"
        missing = Table(title=title)
        for column in ("account", "person", "team"):
            missing.add_column(column)
        for gap in summary.missing:
            missing.add_row(gap.account, gap.person + ("" if gap.in_directory else " (not in Entra ID)"), gap.team_id)
        console.print(missing)
        console.print(
            f"[yellow]![/] Add them to the team, or grant kambot {TEAM_MEMBERS_ADD.name} to add them itself "
            "(docs/admin.md)."
        )


@app.command()
def serve(port: int = typer.Option(None, help="Port to listen on (default: KAMBOT_PORT or 3978).")) -> None:
    """Run the bot: /api/messages for Teams, the tabs, /healthz, /readyz and /metrics."""
    _configure_logging()
    settings = _settings()
    if settings.local_mode:
        console.print("[yellow]Local mode[/]: no KAMBOT_APP_ID set, so requests are not authenticated.")
    _start_telemetry(settings, "serve")
    from bot.event_loop import new_event_loop

    listening = _listen(settings.host, port or settings.port)
    web.run_app(_application(settings), sock=listening, print=None, loop=new_event_loop())


def _listen(host: str, port: int) -> socket.socket:
    """The bot's socket, taken before anything starts: a port that cannot be had stops start-up with one line,
    before the app's background jobs run."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        cannot = _cannot_listen(error, host, port)
        if cannot is None:
            raise
        console.print(f"[red]✗[/] {cannot}")
        raise typer.Exit(1) from None


def _cannot_listen(error: OSError, host: str, port: int) -> str | None:
    """Why the bot cannot listen where it was told to, in the operator's words (None: another failure)."""
    elsewhere = "with --port N or KAMBOT_PORT"
    if error.errno == errno.EADDRINUSE:
        return f"Port {port} on {host} is in use already (another kambot?): stop it, or start this one {elsewhere}."
    if error.errno == errno.EACCES:
        return f"Port {port} needs privileges this user does not have: choose one above 1023 {elsewhere}."
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine: set KAMBOT_HOST to one of its addresses (or 0.0.0.0)."
    return None


def _start_telemetry(settings: Settings, role: str) -> None:
    """Telemetry before anything is built (it instruments aiohttp's web app); a connection string it
    cannot use stops start-up with the reason, like any other configuration error."""
    from bot.telemetry import UnusableConnectionString, start

    try:
        start(settings, role)
    except UnusableConnectionString as error:
        console.print(f"[red]✗[/] APPLICATIONINSIGHTS_CONNECTION_STRING cannot be used: {error}")
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _usable_rules_file() -> Iterator[None]:
    """An unusable KAMBOT_RULES_FILE, KAMBOT_SERVICES_FILE or KAMBOT_SELECTION_FILE stops start-up with its reason,
    not a traceback."""
    from kam.catalogue import CatalogueError
    from kam.rules import RulesFileError
    from kam.selection import SelectionFileError

    try:
        yield
    except RulesFileError as error:
        console.print(f"[red]✗[/] KAMBOT_RULES_FILE cannot be used: {error}")
        raise typer.Exit(2) from None
    except CatalogueError as error:
        console.print(f"[red]✗[/] KAMBOT_SERVICES_FILE cannot be used: {error}")
        raise typer.Exit(2) from None
    except SelectionFileError as error:
        console.print(f"[red]✗[/] KAMBOT_SELECTION_FILE cannot be used: {error}")
        raise typer.Exit(2) from None


def _application(settings: Settings) -> web.Application:
    from bot.app import create_app

    with _usable_rules_file():
        return create_app(settings)


@app.command()
def worker() -> None:
    """Send what the outbox owes and run the scheduled jobs (reminders, reviews due, nudges), without serving HTTP.

    Run it beside `kambot serve` instances started with KAMBOT_BACKGROUND_JOBS=false, or as one of several
    workers: on PostgreSQL each message and each job is done once, whichever process claims it.
    """
    _configure_logging()
    settings = _settings().model_copy(update={"background_jobs": True})
    _start_telemetry(settings, "worker")
    from bot.app import run_worker

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        console.print("kambot worker running; Ctrl+C to stop.")
        await run_worker(settings, stop)

    from bot.event_loop import run as run_on_loop

    with _usable_rules_file():
        run_on_loop(run())


def _headless_browser_shim() -> Path:
    """The Playground opens a browser with xdg-open and exits if that fails on a server without a desktop."""
    folder = Path(tempfile.mkdtemp(prefix="kambot-shim-"))
    shim = folder / "xdg-open"
    shim.write_text("#!/bin/sh\nexit 0\n")
    shim.chmod(0o755)
    return folder


@app.command()
def dev() -> None:
    """Migrate, seed the demo, and run the bot together with the Microsoft 365 Agents Playground."""
    settings = _settings()
    if not PLAYGROUND_BIN.exists():
        console.print("[red]✗[/] The Agents Playground is not installed: run `make run` (it installs it).")
        raise typer.Exit(1)
    db_upgrade("head")
    demo_seed()
    env = {**os.environ, "PATH": f"{_headless_browser_shim()}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["M365_AGENTS_PLAYGROUND_CONFIG_PATH"] = str(PLAYGROUND_CONFIG)
    endpoint = f"http://localhost:{settings.port}/api/messages"
    playground = subprocess.Popen(
        [str(PLAYGROUND_BIN), "-e", endpoint, "-c", "msteams", "--dt", "-p", str(settings.playground_port)], env=env
    )
    # The Playground shows no tabs: the tab pages open in a browser, signed in with dev tokens of its users.
    secret = settings.tab_dev_secret or secrets.token_urlsafe(32)
    serve_env = {"KAMBOT_LOG_FORMAT": "text", **os.environ, "KAMBOT_TAB_DEV_SECRET": secret}
    # The demo company's catalogue, unless one is configured: the forms offer its services to pick.
    serve_env.setdefault("KAMBOT_SERVICES_FILE", str(DEMO_SERVICES))
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=serve_env)
    console.print(
        f"\n[bold]kambot is running.[/] Open [link]http://localhost:{settings.playground_port}[/link] to chat with it "
        "(try: help, log contact, accounts). Press Ctrl+C to stop.\n"
    )
    _print_tab_links(settings.model_copy(update={"tab_dev_secret": secret}))

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    failed = False
    try:
        while bot.poll() is None and playground.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    else:
        console.print("[red]✗[/] The bot or the Playground stopped unexpectedly; see the messages above.")
        failed = True
    finally:
        for process in (bot, playground):
            process.terminate()
        for process in (bot, playground):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(env["PATH"].split(os.pathsep)[0], ignore_errors=True)
    if failed:
        raise typer.Exit(1)


def _print_tab_links(settings: Settings) -> None:
    from bot.tabs.signin import TabTokens
    from kam.demo import PEOPLE, TENANT_ID

    tokens = TabTokens(settings)
    alex = next(p for p in PEOPLE if p.teams_user_id == "user-id-0")
    token = tokens.dev_token(alex.aad_object_id, TENANT_ID, alex.name)
    base = f"http://localhost:{settings.port}/tabs"
    console.print(f"Tabs of Contoso Pharma, signed in as {alex.name} (local dev token):")
    for kind in ("plan", "log", "stakeholders"):
        console.print(f"  {base}/{kind}?account=1#token={token}")


@app.command("tab-link")
def tab_link(
    account: int = typer.Option(..., help="The account's id (see the tab's URL)."),
    user: str = typer.Option(..., help="The Entra object id of a person on the account team."),
    tab: str = typer.Option("plan", help="plan, log or stakeholders"),
) -> None:
    """Local mode: a tab URL signed in as a Playground user (needs the bot's KAMBOT_TAB_DEV_SECRET)."""
    from bot.tabs.signin import NotSignedIn, TabTokens
    from kam.demo import TENANT_ID

    settings = _settings()
    if not settings.tab_dev_secret:
        console.print("[red]✗[/] Set KAMBOT_TAB_DEV_SECRET to the secret the running bot uses.")
        raise typer.Exit(1)
    try:
        token = TabTokens(settings).dev_token(user, TENANT_ID, user)
    except NotSignedIn:
        console.print("[red]✗[/] Dev tokens exist in local mode only (no KAMBOT_APP_ID).")
        raise typer.Exit(1) from None
    # The URL alone on stdout, so that `$(kambot tab-link ...)` is the URL; messages stay on stderr.
    typer.echo(f"http://localhost:{settings.port}/tabs/{tab}?account={account}#token={token}")


def _checked_package(
    settings: Settings, package_file: Path | None, version: str, validate: bool, *, nothing_done: str
) -> bytes:
    """The package from a file or built from the configuration; exits with the reasons when it is not valid."""
    from bot.admin.package import PackageProblem, render_package
    from bot.admin.package import validate as validate_package

    if package_file is not None and not package_file.is_file():
        console.print(f"[red]✗[/] {package_file}: no such file")
        raise typer.Exit(1)
    try:
        archive = package_file.read_bytes() if package_file else render_package(settings, version or None).zip_bytes()
        problems = validate_package(archive) if validate else []
    except PackageProblem as problem:
        console.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1) from None
    if problems:
        console.print(f"[red]✗[/] The package is not valid ({len(problems)} problem(s)); {nothing_done}:")
        for found in problems:
            console.print(f"  {found}")
        raise typer.Exit(1)
    return archive


@app.command()
def package(
    out: Path = typer.Option(Path("kambot-teams-app.zip"), "--out", help="Where to write the app package (.zip)."),
    version: str = typer.Option("", help="The app version, e.g. 1.4.0 (default: kambot's). Raise it for every update."),
    validate: bool = typer.Option(True, help="Check the package with Microsoft's manifest validator (offline)."),
) -> None:
    """Build the Teams app package from the configuration: manifest (English, German), icons; validated."""
    settings = _settings()
    archive = _checked_package(settings, None, version, validate, nothing_done="nothing was written")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(archive)
    partial.replace(out)
    checked = "passes Microsoft's manifest validation" if validate else "not validated (--no-validate)"
    console.print(f"[green]✓[/] {out} ({len(archive):,} bytes): {checked}")


@app.command()
def publish(
    package_file: Path = typer.Option(
        None, "--package", help="The package to upload (default: build one from the configuration, as `package`)."
    ),
    version: str = typer.Option("", help="When building: the app version (higher than the catalog's)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be uploaded; change nothing."),
    client_id: str = typer.Option(
        "", help="App registration the admin signs in through (default: Microsoft Graph Command Line Tools)."
    ),
) -> None:
    """Upload kambot to the tenant's Teams app catalog, or update it there (a Teams admin signs in)."""
    from bot.admin.publish import GRAPH_COMMAND_LINE_TOOLS, PublishProblem, admin_sign_in
    from bot.admin.publish import publish as publish_package

    settings = _settings()
    archive = _checked_package(settings, package_file, version, True, nothing_done="nothing was uploaded")
    credential = admin_sign_in(settings, client_id or GRAPH_COMMAND_LINE_TOOLS, console.print)
    try:
        outcome = asyncio.run(publish_package(settings, archive, credential, dry_run=dry_run))
    except PublishProblem as problem:
        console.print(f"[red]✗[/] {problem}")
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/] {outcome.message}")


@app.command()
def doctor() -> None:
    """Check this installation: configuration, database, credentials, Graph permissions, teams, public URL."""
    from bot.admin.doctor import run_checks

    settings = _settings()
    checks = asyncio.run(run_checks(settings))
    table = Table(title="kambot doctor", show_lines=False)
    for column in ("", "check", "result", "fix"):
        table.add_column(column, overflow="fold")
    marks = {True: "[green]✓[/]", False: "[red]✗[/]", None: "–"}
    for check in checks:
        table.add_row(marks[check.ok], check.name, check.detail, check.fix)
    Console(soft_wrap=False, width=max(console.width, 140)).print(table)
    failed = sum(1 for check in checks if check.ok is False)
    if failed:
        console.print(f"[red]✗[/] {failed} check(s) failed: see the fix column.")
        raise typer.Exit(1)
    console.print("[green]✓[/] All checks passed.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
