"""The app's way into Microsoft Graph: the configured identity, one client, paced calls.

msgraph-sdk takes seconds to import, so it is imported only when Graph is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from azure.core.credentials_async import AsyncTokenCredential

from bot.settings import Settings

if TYPE_CHECKING:
    from graph.gateway import TeamsGateway


def graph_gateway(
    settings: Settings, credential: AsyncTokenCredential | None = None, on_throttled: Callable[[], None] | None = None
) -> TeamsGateway:
    """A gateway for the configured tenant; `credential` replaces the configured identity (tests: the fake's)."""
    from graph.client import make_client, make_credential
    from graph.gateway import TeamsGateway

    credential = credential or make_credential(
        settings.graph_auth,
        tenant_id=settings.graph_tenant_id or settings.app_tenant_id,
        client_id=settings.graph_client_id or settings.app_id,
        client_secret=settings.graph_client_secret or settings.app_password,
        certificate_path=settings.graph_certificate_path,
    )
    client = make_client(credential, settings.graph_base_url, settings.graph_timeout_seconds)
    return TeamsGateway(client, on_throttled=on_throttled)
