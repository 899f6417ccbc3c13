"""`kambot publish`: the package into the tenant's app catalog through Graph (the fake's catalog)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.admin.package import render_package
from bot.admin.publish import PublishProblem, publish
from tests.support.cli import kambot
from tests.support.fakes.graph import FakeGraphCredential, GraphFake
from tests.support.package import APP_ID, CONFIG, settings


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    fake = await GraphFake().start()
    yield fake
    await fake.stop()


def versions(graph: GraphFake) -> list[str]:
    return [d["version"] for app in graph.catalog.values() for d in app["appDefinitions"]]


async def test_kambot_goes_into_the_catalog_once_and_is_updated_with_each_higher_version(graph: GraphFake) -> None:
    config = settings(graph_base_url=f"{graph.url}/v1.0")
    admin = FakeGraphCredential()
    first = render_package(config, "1.0.0").zip_bytes()

    planned = await publish(config, first, admin, dry_run=True)
    assert planned.message == "would publish kambot 1.0.0 to the app catalog (dry run)" and graph.catalog == {}

    published = await publish(config, first, admin)
    [app] = graph.catalog.values()
    assert app["externalId"] == APP_ID and app["distributionMethod"] == "organization"
    assert published.catalog_id == app["id"] and "(set KAMBOT_TEAMS_APP_ID to it)" in published.message

    second = render_package(config, "1.1.0").zip_bytes()
    planned = await publish(config, second, admin, dry_run=True)
    assert planned.message == f"would update kambot 1.0.0 → 1.1.0 (catalog id {app['id']}) (dry run)"
    assert versions(graph) == ["1.0.0"]
    updated = await publish(config, second, admin)
    assert updated.catalog_id == app["id"] and versions(graph) == ["1.0.0", "1.1.0"]
    assert len(graph.catalog) == 1, "an update, not a second app"

    with pytest.raises(PublishProblem, match="the catalog has version 1.1.0; this package is 1.1.0"):
        await publish(config, second, admin)
    assert versions(graph) == ["1.0.0", "1.1.0"]


async def test_without_an_admins_sign_in_nothing_is_published_and_the_admin_is_told_why(graph: GraphFake) -> None:
    config = settings(graph_base_url=f"{graph.url}/v1.0")
    app_only = FakeGraphCredential(roles={"AppCatalog.ReadWrite.All"})
    with pytest.raises(PublishProblem, match=r"HTTP 403 .*\(sign in as a Teams administrator\)"):
        await publish(config, render_package(config, "1.0.0").zip_bytes(), app_only)
    assert graph.catalog == {}


def test_kambot_publish_refuses_a_missing_or_broken_package_before_signing_in(tmp_path: Path) -> None:
    env = {**CONFIG, "PYTHONPATH": str(Path.cwd())}
    missing = kambot("publish", "--package", str(tmp_path / "none.zip"), env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "none.zip: no such file" in missing.stderr
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    result = kambot("publish", "--package", str(broken), "--dry-run", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "nothing was uploaded" in result.stderr and "not a zip file" in result.stderr
    assert "Sign in" not in result.stderr and "Traceback" not in result.stderr
