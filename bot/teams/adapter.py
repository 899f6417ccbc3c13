"""The Bot Framework adapter: JWT validation in, authenticated calls out."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient

from bot.settings import Settings
from bot.teams.activities import texts_for

log = logging.getLogger(__name__)


def auth_configuration(settings: Settings) -> SimpleNamespace:
    """The attribute names botbuilder reads; endpoints only when set (else the public cloud's)."""
    config = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password,
        # botbuilder refuses a single-tenant type without an app id; local mode has none.
        APP_TYPE=settings.app_type if settings.app_id else "MultiTenant",
        APP_TENANTID=settings.app_tenant_id,
    )
    overrides = {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": settings.auth_openid_metadata_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": settings.auth_token_issuer,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": settings.auth_login_url,
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": settings.auth_oauth_scope,
    }
    for name, value in overrides.items():
        if value:
            setattr(config, name, value)
    if any(overrides.values()):
        config.VALIDATE_AUTHORITY = False
    return config


async def connector_token(settings: Settings) -> str:
    """A token for the Bot Connector, fetched as the running bot fetches it (botbuilder and MSAL)."""
    tenant = settings.app_tenant_id if settings.app_type == "SingleTenant" else None
    login = settings.auth_login_url or (
        AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
        + (tenant or AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT)
    )
    scope = settings.auth_oauth_scope or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
    factory = ConfigurationServiceClientCredentialFactory(auth_configuration(settings))
    credentials = await factory.create_credentials(settings.app_id, scope, login, not settings.auth_login_url)
    return str(await asyncio.to_thread(credentials.get_access_token) or "")


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    """Log the details for us; tell the user in their language, never with a stack trace."""
    activity = context.activity
    log.error(
        "turn failed: %r",
        error,
        exc_info=error,
        extra={"activity_id": activity.id, "conversation_id": getattr(activity.conversation, "id", None)},
    )
    if activity.type != ActivityTypes.message:
        return
    try:
        await context.send_activity(texts_for(activity)("error.generic"))
    except Exception:  # noqa: BLE001 - the channel itself may be what failed
        log.warning("could not tell the user about the failure", exc_info=True)


class _ReusedConnectors(ConnectorFactory):
    """Hands out one ConnectorClient per identity, service URL and audience, built on first use."""

    def __init__(self, inner: ConnectorFactory, clients: dict[tuple[object, ...], ConnectorClient]) -> None:
        self._inner = inner
        self._clients = clients

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (getattr(self._inner, "_app_id", None), service_url, audience)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = await self._inner.create(service_url, audience)
        return client


class ReusingClients(BotFrameworkAuthentication):
    """botbuilder's authentication, except that Bot Connector and token clients are built once and reused.

    botbuilder builds a new ConnectorClient and UserTokenClient for every turn and every proactive
    send; building one costs milliseconds of CPU (msrest's retry configuration alone scans a
    thousand status codes against a list) and leaves an HTTP session behind. The clients carry
    the app's credentials, which fetch and refresh their own tokens, so sharing them is safe.
    """

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner
        self._connectors: dict[tuple[object, ...], ConnectorClient] = {}
        self._token_clients: dict[tuple[object, ...], UserTokenClient] = {}

    def _reusing(self, result: AuthenticateRequestResult) -> AuthenticateRequestResult:
        if result.connector_factory is not None:
            result.connector_factory = _ReusedConnectors(result.connector_factory, self._connectors)
        return result

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        return self._reusing(await self._inner.authenticate_request(activity, auth_header))

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return self._reusing(await self._inner.authenticate_streaming_request(auth_header, channel_id_header))

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _ReusedConnectors(self._inner.create_connector_factory(claims_identity), self._connectors)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = tuple(claims_identity.get_claim_value(c) for c in ("aud", "appid", "azp", "ver"))
        client = self._token_clients.get(key)
        if client is None:
            client = self._token_clients[key] = await self._inner.create_user_token_client(claims_identity)
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self._inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)


def build_adapter(settings: Settings) -> CloudAdapter:
    authentication = ConfigurationBotFrameworkAuthentication(auth_configuration(settings))
    adapter = CloudAdapter(ReusingClients(authentication))
    adapter.on_turn_error = _on_turn_error
    return adapter
