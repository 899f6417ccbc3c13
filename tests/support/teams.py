"""Teams-shaped activities built from data, as the Teams client and Bot Connector send them."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from kam.demo import PEOPLE, DemoPerson

TENANT_ID = "00000000-0000-0000-0000-0000000000001"
BOT_ID = "28:00000000-0000-0000-0000-00000000000011"
TEAM_ID = "team-id"
CONTOSO_CHANNEL = "channel-contoso-id"
FABRIKAM_CHANNEL = "team-id"
UNLINKED_CHANNEL = "channel-random-id"
GROUP_CHAT = "19:group-chat-id@thread.v2"
MEETING_CHAT = "19:meeting_chat-id@thread.v2"
CHATS = (GROUP_CHAT, MEETING_CHAT)
CATALOG_APP_ID = "6b1f0c2e-51a4-4a53-9d53-9f1a2f0c0a01"  # kambot's id in the tenant's app catalog

# Besides the demo people: someone kambot has never heard of, and an admin on no account team
# (kambot knows her once the access tests add her and list her in KAMBOT_ADMIN_AAD_IDS).
STRANGER = DemoPerson("00000000-0000-0000-0000-0000000000098", "user-id-98", "Sam Stranger", "sam@example.com")
ADMIN = DemoPerson("00000000-0000-0000-0000-0000000000099", "user-id-99", "Diego Siciliani", "diegos@example.com")
USERS = {person.name.split()[0].lower(): person for person in (*PEOPLE, STRANGER, ADMIN)}


@dataclass
class Teams:
    """Makes activities for one service URL (the connector fake's)."""

    service_url: str
    tenant_id: str = TENANT_ID

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)

    def _base(self, kind: str, user: str, where: str, locale: str) -> dict[str, Any]:
        person = USERS[user]
        now = dt.datetime.now(dt.UTC)
        activity: dict[str, Any] = {
            "type": kind,
            "id": f"client-{next(self._ids)}",
            "timestamp": now.isoformat(),
            "localTimestamp": now.isoformat(),
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": person.teams_user_id, "name": person.name, "aadObjectId": person.aad_object_id},
            "recipient": {"id": BOT_ID, "name": "kambot"},
            "locale": locale,
            "channelData": {"tenant": {"id": self.tenant_id}},
        }
        if where == "personal":
            activity["conversation"] = {
                "id": f"a:personal-{user}",
                "conversationType": "personal",
                "tenantId": self.tenant_id,
            }
        elif where in CHATS:
            activity["conversation"] = {
                "id": where,
                "conversationType": "groupChat",
                "isGroup": True,
                "tenantId": self.tenant_id,
            }
            if where == MEETING_CHAT:
                activity["channelData"]["meeting"] = {"id": "meeting-id"}
        else:
            activity["conversation"] = {
                "id": f"{where};messageid={next(self._ids)}",
                "conversationType": "channel",
                "isGroup": True,
                "tenantId": self.tenant_id,
            }
            activity["channelData"].update({"team": {"id": TEAM_ID}, "channel": {"id": where}})
        return activity

    def message(self, text: str, user: str = "alex", where: str = "personal", locale: str = "en-US") -> dict[str, Any]:
        activity = self._base("message", user, where, locale)
        if where != "personal":  # in channels and group chats, the bot hears only what @mentions it
            text = f"<at>kambot</at> {text}"
            activity["entities"] = [
                {"type": "mention", "text": "<at>kambot</at>", "mentioned": {"id": BOT_ID, "name": "kambot"}}
            ]
        activity["text"] = text
        return activity

    def execute(
        self,
        data: Any,
        user: str = "alex",
        where: str = "personal",
        reply_to: str | None = None,
        verb: str | None = None,
    ) -> dict[str, Any]:
        """An Action.Execute click: an `adaptiveCard/action` invoke."""
        activity = self._base("invoke", user, where, "en-US")
        action: dict[str, Any] = {"type": "Action.Execute", "data": data}
        if verb or isinstance(data, dict):
            action["verb"] = verb or data.get("verb")
        activity.update({"name": "adaptiveCard/action", "value": {"action": action, "trigger": "manual"}})
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    def submit(
        self, value: Any, user: str = "alex", where: str = "personal", reply_to: str | None = None
    ) -> dict[str, Any]:
        """An Action.Submit click from an older client: a message with a value and no text."""
        activity = self._base("message", user, where, "en-US")
        activity["value"] = value
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    def bot_added(self, where: str = "personal", user: str = "alex") -> dict[str, Any]:
        activity = self._base("conversationUpdate", user, where, "en-US")
        activity["membersAdded"] = [{"id": BOT_ID}]
        if where != "personal":
            activity["conversation"]["id"] = where
            if where not in CHATS:
                activity["channelData"]["eventType"] = "teamMemberAdded"
        return activity

    def installed(self, where: str = "personal", user: str = "alex") -> dict[str, Any]:
        activity = self._base("installationUpdate", user, where, "en-US")
        activity["action"] = "add"
        if where != "personal":
            activity["conversation"]["id"] = where
        return activity


def message_action(
    teams: Teams, name: str, value: dict[str, Any], user: str = "alex", where: str = "personal"
) -> dict[str, Any]:
    """A compose extension invoke (the message action's dialog), as Teams sends it."""
    activity = teams._base("invoke", user, where, "en-US")
    activity.update({"name": name, "value": value})
    return activity
