"""The Bot Framework adapter: JWT validation in, authenticated calls out."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import ActivityTypes

from bot.settings import Settings
from bot.turn import texts_for

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


def build_adapter(settings: Settings) -> CloudAdapter:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(auth_configuration(settings)))
    adapter.on_turn_error = _on_turn_error
    return adapter
