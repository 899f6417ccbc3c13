"""What the container image runs: its entry script, health check and Dockerfile (no Docker engine needed).

The image is `Dockerfile`: the entry script migrates the database and starts kambot; the health
check asks /healthz. Here both run as the image runs them, against the installed kambot.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from kam.migrate import head_revision
from tests.support.fakes.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"


def container_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAMBOT_")}
    return {
        **clean,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{clean['PATH']}",
        "KAMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'kambot.db'}",
        "KAMBOT_HOST": "127.0.0.1",
        "KAMBOT_PORT": str(port),
        "KAMBOT_NUDGE_WEEKDAY": "off",
        "KAMBOT_MONTHLY_KPI_CARDS": "false",
        **extra,
    }


def healthy(env: dict[str, str]) -> bool:
    return subprocess.run([sys.executable, str(HEALTHCHECK)], env=env, timeout=30, check=False).returncode == 0


def wait_until_healthy(env: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        if healthy(env):
            return
        time.sleep(0.3)
    raise AssertionError("kambot did not become healthy within 60 s")


def test_the_entry_script_migrates_then_serves_and_the_health_check_follows_it(tmp_path: Path) -> None:
    port = free_port()
    env = container_env(tmp_path, port)
    assert not healthy(env), "nothing listens yet: the health check must fail"
    process = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        wait_until_healthy(env, process)
        with sqlite3.connect(tmp_path / "var" / "kambot.db") as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert ready.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "a stop (docker stop sends SIGTERM) ends kambot cleanly"
    assert not healthy(env)


def test_without_migration_on_start_the_instance_is_alive_but_not_ready(tmp_path: Path) -> None:
    port = free_port()
    env = container_env(tmp_path, port, KAMBOT_MIGRATE_ON_START="false")
    (tmp_path / "var").mkdir()
    process = subprocess.Popen(["sh", str(ENTRYPOINT), "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        wait_until_healthy(env, process)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5)
            raise AssertionError("/readyz answered 200 without the schema")
        except urllib.error.HTTPError as error:
            assert error.code == 503
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_entry_script_runs_other_kambot_commands(tmp_path: Path) -> None:
    env = container_env(tmp_path, free_port())
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "doctor"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1 and "Bot identity" in result.stdout and "database at revision head" in result.stderr


def test_the_dockerfile_builds_a_small_non_root_image_from_files_that_exist() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = (ROOT / ".dockerignore").read_text().split()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY {path}: not in the repository"
            assert path not in ignored, f"COPY {path}: excluded by .dockerignore"
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, flags=re.M), "a slim Python 3.11 base"
    user = re.findall(r"^USER (\S+)$", dockerfile, flags=re.M)
    assert user and user[-1] not in ("root", "0"), "runs as a user without privileges"
    assert "HEALTHCHECK" in dockerfile and "deploy/healthcheck.py" in dockerfile
    assert re.search(r'^ENTRYPOINT \["/app/deploy/docker-entrypoint.sh"\]$', dockerfile, flags=re.M)
    assert os.access(ENTRYPOINT, os.X_OK), "the entry script is executable in the image"
