"""The `kambot` command as an operator runs it."""

from __future__ import annotations

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
