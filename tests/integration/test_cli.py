"""The `kambot` command as an operator runs it."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from tests.support.cli import kambot


def test_db_upgrade_creates_the_embedded_database_and_is_safe_to_repeat(tmp_path: Path) -> None:
    env = {
        "KAMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kambot.db'}",
        "PYTHONPATH": str(Path.cwd()),
    }
    for _ in range(2):
        result = kambot("db", "upgrade", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "database at revision head" in result.stderr
    with sqlite3.connect(tmp_path / "data" / "kambot.db") as connection:
        # WAL, switched by the migration: connections that start together (bot, worker, a CLI command) never
        # race to switch it, which SQLite can refuse with "database is locked" despite any busy timeout.
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    seeded = kambot("demo", "seed", env=env, cwd=tmp_path)
    assert seeded.returncode == 0 and "2 account(s) created" in seeded.stderr
    with sqlite3.connect(tmp_path / "data" / "kambot.db") as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM accounts ORDER BY name")]
    assert names == ["Contoso Pharma", "Fabrikam Logistics"]


def test_an_unreachable_database_is_reported_without_a_traceback(tmp_path: Path) -> None:
    env = {"KAMBOT_DATABASE_URL": "postgresql+asyncpg://kambot@127.0.0.1:1/none", "PYTHONPATH": str(Path.cwd())}
    result = kambot("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Could not migrate postgresql+asyncpg://kambot@127.0.0.1:1/none" in result.stderr
    assert "Traceback" not in result.stderr


def test_incomplete_bot_credentials_are_named(tmp_path: Path) -> None:
    env = {
        "KAMBOT_APP_ID": "11111111-2222-3333-4444-555555555555",
        "KAMBOT_APP_TYPE": "SingleTenant",
        "PYTHONPATH": str(Path.cwd()),
    }
    result = kambot("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "KAMBOT_APP_PASSWORD and KAMBOT_APP_TENANT_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_provision_names_the_configuration_it_lacks(tmp_path: Path) -> None:
    env = {"KAMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", "PYTHONPATH": str(Path.cwd())}
    result = kambot("provision", "--dry-run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    for variable in ("KAMBOT_KAM_TEAM_IDS", "KAMBOT_TEAMS_APP_ID", "KAMBOT_PUBLIC_BASE_URL", "KAMBOT_GRAPH_TENANT_ID"):
        assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_already_in_use_is_one_line_and_a_failing_exit(tmp_path: Path) -> None:
    env = {
        "KAMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}",
        "KAMBOT_HOST": "127.0.0.1",
        "PYTHONPATH": str(Path.cwd()),
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kambot("serve", "--port", str(port), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "OSError" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if "✗" in line]
    assert problems == [f"✗ Port {port} on 127.0.0.1 is in use already (another kambot?): stop it, or start this "
                        "one with --port N or KAMBOT_PORT."]  # fmt: skip


def test_tab_link_prints_only_the_url_on_stdout(tmp_path: Path) -> None:
    env = {"KAMBOT_TAB_DEV_SECRET": "s" * 32, "KAMBOT_PORT": "3999", "PYTHONPATH": str(Path.cwd())}
    alex = "00000000-0000-0000-0000-0000000000020"
    result = kambot("tab-link", "--account", "1", "--user", alex, "--tab", "log", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http://localhost:3999/tabs/log?account=1#token=") and "\n" not in url
    assert result.stdout == url + "\n" and "http" not in result.stderr

    refused = kambot("tab-link", "--account", "1", "--user", alex, env={"PYTHONPATH": str(Path.cwd())}, cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Set KAMBOT_TAB_DEV_SECRET" in refused.stderr
