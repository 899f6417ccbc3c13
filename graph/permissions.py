"""The Microsoft Graph application permissions kambot's features need, and those a token carries.

An app-only token from Entra lists the application permissions the tenant granted in its `roles`
claim. Reading it tells an admin what is missing before a feature fails at 2 a.m. Team-level
access (resource-specific consent, when kambot is installed in a team) is not in the token; it
is checked by reading the team instead (`TeamsGateway.channels`, `installed_app_ids`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    name: str
    purpose: str
    # Broader permissions that include this one: an admin who granted one of them needs nothing more.
    broader: tuple[str, ...] = ()

    def granted(self, roles: set[str]) -> bool:
        return self.name in roles or any(name in roles for name in self.broader)


USER_LOOKUP = Permission(
    "User.ReadBasic.All",
    "provisioning: finds account team members known only by their UPN (channel and team membership)",
    ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
)
CALENDARS = Permission(
    "Calendars.ReadBasic.All",
    "after-meeting nudges: subject, times and attendees of team members' meetings, never their content",
    ("Calendars.Read", "Calendars.ReadWrite"),
)


CHANNEL_APPS = Permission(
    "TeamsAppInstallation.ManageSelectedForTeam.All",
    "provisioning: adds kambot to confidential accounts' shared channels (an app of the team is not in a shared "
    "channel until added there)",
    ("TeamsAppInstallation.ReadWriteForTeam.All",),
)
TEAM_MEMBERS_ADD = Permission(
    "TeamMember.ReadWriteNonOwnerRole.All",
    "provisioning: adds account team members missing from the team of their account's channel, as members "
    "(never owners); without it they are reported instead",
    ("TeamMember.ReadWrite.All",),
)


def _claims(access_token: str) -> dict[str, object]:
    """A JWT access token's claims, unverified: its signature is Entra's business and Graph's, not ours."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def roles_of(access_token: str) -> set[str]:
    """The application permissions in a JWT access token."""
    roles = _claims(access_token).get("roles")
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()


def app_of(access_token: str) -> str:
    """The client id of the app a token was issued to (`appid` in v1 tokens, `azp` in v2): whom Graph sees calling,
    whatever the configuration meant. Empty when the token does not say."""
    claims = _claims(access_token)
    app = claims.get("appid") or claims.get("azp")
    return app if isinstance(app, str) else ""


def admin_consent_url(tenant_id: str, client_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id or 'organizations'}/adminconsent?client_id={client_id}"
