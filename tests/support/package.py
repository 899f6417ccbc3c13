"""The settings a packaging test builds the app package with."""

from __future__ import annotations

from bot.settings import Settings

APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


CONFIG = {
    "KAMBOT_APP_ID": APP_ID,
    "KAMBOT_APP_PASSWORD": "not-used-here",
    "KAMBOT_APP_TENANT_ID": "00000000-0000-0000-0000-0000000000001",
    "KAMBOT_PUBLIC_BASE_URL": "https://kambot.contoso.example",
    "KAMBOT_DEVELOPER_NAME": "Contoso IT",
}


def settings(**changes: str) -> Settings:
    values = {k.removeprefix("KAMBOT_").lower(): v for k, v in CONFIG.items()} | changes
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]
