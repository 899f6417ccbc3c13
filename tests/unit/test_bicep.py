"""The container the Bicep template configures is one kambot accepts, and it calls Graph as the package's app."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.admin.graph_access import graph_client_id
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# What the template's expressions stand for at deployment.
DEPLOYED = {
    "tabSsoClientId": "3e9d1c7b-5a2f-4b8e-9c6d-0f1e2d3c4b5a",
    "identity.properties.clientId": "a1d2c3b4-0000-4000-8000-0000000000c1",
    "tenantId": "7c1e5a2b-0000-4000-8000-00000000e17a",
    "publicBaseUrl": "https://kambot-app.example.azurecontainerapps.io",
    "kamTeamIds": "team-kam",
    "teamsAppId": "0b9f2e1d-catalog-kambot",
    "string(meetingNudges)": "false",
}


def container_environment() -> dict[str, str]:
    """The KAMBOT_* variables of the container, with their values as deployed (secrets left out)."""
    bicep = (ROOT / "deploy" / "azure" / "main.bicep").read_text()
    pairs = re.findall(r"name: '(KAMBOT_\w+)'\s*\n\s*value: (.+)", bicep)
    return {name: value.strip("'") if value.startswith("'") else DEPLOYED[value] for name, value in pairs}


def test_the_template_configures_graph_as_the_package_app_proven_by_its_managed_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("KAMBOT_")]:
        monkeypatch.delenv(name)
    environment = container_environment()
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.graph_auth == "managed_identity_federation"
    assert graph_client_id(settings) == settings.sso_client_id == DEPLOYED["tabSsoClientId"], "the RSC grants' app"
    assert settings.graph_managed_identity_client_id == settings.app_id == DEPLOYED["identity.properties.clientId"]
    assert settings.app_type == "UserAssignedMSI", "the managed identity stays the bot's identity"
    assert "KAMBOT_GRAPH_CLIENT_SECRET" not in environment and "KAMBOT_APP_PASSWORD" not in environment
