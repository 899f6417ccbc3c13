"""Provisioning, as the CLI and the admins' chat command start it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from azure.core.credentials_async import AsyncTokenCredential

from bot.admin.graph_access import graph_gateway
from bot.settings import Settings

if TYPE_CHECKING:
    from graph.provisioning import Provisioner


def provisioning_problems(settings: Settings) -> list[str]:
    problems = []
    if not settings.kam_team_ids:
        problems.append(
            "KAMBOT_KAM_TEAM_IDS: name the team(s) that hold the account channels (group ids, comma-separated)"
        )
    if not settings.teams_app_id:
        problems.append("KAMBOT_TEAMS_APP_ID: the id of kambot in the tenant's app catalog (for installs and tabs)")
    if not settings.public_base_url.startswith("https://"):
        problems.append("KAMBOT_PUBLIC_BASE_URL: Teams loads tabs only over https")
    if settings.graph_auth != "managed_identity" and not (settings.graph_tenant_id or settings.app_tenant_id):
        problems.append("KAMBOT_GRAPH_TENANT_ID (or KAMBOT_APP_TENANT_ID): the tenant to provision")
    return problems


def build_provisioner(
    settings: Settings, credential: AsyncTokenCredential | None = None, on_throttled: Callable[[], None] | None = None
) -> Provisioner:
    """The provisioner for the configured tenant; `credential` replaces the configured identity."""
    from graph.provisioning import Provisioner, ProvisioningConfig
    from kam.storage import Database

    config = ProvisioningConfig(
        team_ids=settings.kam_team_ids,
        app_id=settings.teams_app_id,
        tab_base_url=settings.public_base_url,
        channels_per_team=settings.channels_per_team,
        concurrency=settings.provision_concurrency,
    )
    gateway = graph_gateway(settings, credential, on_throttled)
    return Provisioner(gateway, Database(settings.database_url), config)
