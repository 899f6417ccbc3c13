"""`kambot publish`: the app package into the tenant's app catalog, new or as a higher version.

Publishing an organization app takes a Teams admin's sign-in: Microsoft Graph offers no
application permission for it (delegated AppCatalog.ReadWrite.All). The admin signs in with a
device code, through Microsoft's own "Microsoft Graph Command Line Tools" client unless another
is named.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.credentials_async import AsyncTokenCredential

from bot.admin.graph_access import graph_gateway, graph_tenant
from bot.settings import Settings

CATALOG_SCOPE = "https://graph.microsoft.com/AppCatalog.ReadWrite.All"
GRAPH_COMMAND_LINE_TOOLS = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft's public client for admins' scripts


class PublishProblem(Exception):
    """Nothing was published; the message says why and what to do."""


@dataclass(frozen=True)
class Published:
    catalog_id: str
    version: str
    message: str


def manifest_of(archive: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise PublishProblem("this is not a Teams app package (a zip with manifest.json)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("id"), str):
        raise PublishProblem("the package's manifest.json has no app id")
    return manifest


async def publish(
    settings: Settings, archive: bytes, credential: AsyncTokenCredential, *, dry_run: bool = False
) -> Published:
    """Upload `archive` as a new catalog app, or as the next version of kambot already there."""
    from graph.gateway import GraphFailure

    manifest = manifest_of(archive)
    version = str(manifest.get("version", ""))
    gateway = graph_gateway(settings, credential, scopes=(CATALOG_SCOPE,))
    try:
        existing = await gateway.catalog_app(manifest["id"])
        if existing is not None and not existing.older_than(version):
            raise PublishProblem(
                f"the catalog has version {existing.version}; this package is {version}. "
                "Build one with a higher version: kambot package --version X.Y.Z"
            )
        if dry_run:
            if existing is None:
                return Published("", version, f"would publish kambot {version} to the app catalog (dry run)")
            return Published(
                existing.id,
                version,
                f"would update kambot {existing.version} → {version} (catalog id {existing.id}) (dry run)",
            )
        uploaded = await gateway.upload_app(archive, version, existing)
    except GraphFailure as failure:
        hint = " (sign in as a Teams administrator)" if failure.status in (401, 403) else ""
        raise PublishProblem(
            f"Microsoft Graph refused: HTTP {failure.status} {failure.code}: {failure}{hint}"
        ) from None
    verb = "updated to" if existing is not None else "published as"
    return Published(
        uploaded.id,
        uploaded.version,
        f"kambot {verb} {uploaded.version} in the app catalog; its catalog id is {uploaded.id} "
        "(set KAMBOT_TEAMS_APP_ID to it)",
    )


class _InThread(AsyncTokenCredential):
    """An async face for a credential that blocks (the device code sign-in waits for the admin)."""

    def __init__(self, inner: TokenCredential) -> None:
        self._inner = inner

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return await asyncio.to_thread(self._inner.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def admin_sign_in(settings: Settings, client_id: str, tell: Callable[[str], None]) -> AsyncTokenCredential:
    """A Teams admin's delegated sign-in with a device code: `tell` shows the code and where to enter it."""
    from azure.identity import DeviceCodeCredential

    credential = DeviceCodeCredential(
        client_id=client_id,
        tenant_id=graph_tenant(settings) or "organizations",
        prompt_callback=lambda url, code, _expires: tell(f"Sign in as a Teams administrator: open {url}, enter {code}"),
    )
    return _InThread(credential)
