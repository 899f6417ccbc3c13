"""Activity feed notifications as Microsoft Graph takes them, and the team's resource-specific grants.

kambot sends through the team endpoint, `POST /teams/{team-id}/sendActivityNotification`, whose least
privileged application permission is the resource-specific `TeamsActivity.Send.Group`: a team grants it
when kambot is added there, and it reaches the members of that team only. The body's shape is Microsoft's
(team: sendActivityNotification, teamworkActivityTopic, aadUserNotificationRecipient): a text topic whose
`webUrl` is a Teams link, an activity type the app manifest declares, a preview of which Teams shows the
first 150 characters, and the values of the type's template. Graph answers 204 No Content.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SEND_IN_TEAM = "TeamsActivity.Send.Group"  # the resource-specific permission the team endpoint needs
DEEP_LINK_MAX = 1900  # Teams on Windows cannot open a longer deep link (Microsoft's deep link pages)


class Notified(StrEnum):
    SENT = "sent"
    # 403: the team has not granted the permission, or the app is not installed for the recipient there.
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class ActivityNotification:
    """One notification to one person, in the scope of the team that holds their account's channel."""

    recipient_id: str  # the person's Entra object id
    activity_type: str  # declared in the manifest's `activities`
    topic: str  # plain text: what it is about
    web_url: str  # where selecting it leads: a Teams deep link
    preview: str
    parameters: tuple[tuple[str, str], ...] = ()  # the activity type's template values, by name

    def body(self) -> dict[str, Any]:
        return {
            "topic": {"source": "text", "value": self.topic, "webUrl": self.web_url},
            "activityType": self.activity_type,
            "previewText": {"content": self.preview},
            "recipient": {
                "@odata.type": "microsoft.graph.aadUserNotificationRecipient",
                "userId": self.recipient_id,
            },
            "templateParameters": [{"name": name, "value": value} for name, value in self.parameters],
        }


@dataclass(frozen=True)
class Grant:
    """One resource-specific permission a team granted an Entra app (Graph's resourceSpecificPermissionGrant)."""

    client_id: str  # the Entra app (its application id) the permission was granted to
    permission: str
    permission_type: str  # "Application" or "Delegated"


def grant_of(data: dict[str, Any]) -> Grant:
    return Grant(
        str(data.get("clientId") or ""), str(data.get("permission") or ""), str(data.get("permissionType") or "")
    )


def may_send_in_team(grants: list[Grant], client_id: str) -> bool:
    """Whether the team lets the Entra app `client_id` send activity notifications to its members."""
    return any(
        g.client_id.lower() == client_id.lower() and g.permission == SEND_IN_TEAM and g.permission_type == "Application"
        for g in grants
    )
