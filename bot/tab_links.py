"""Links from a card to a tab of its account's channel, where the whole of what a card shows in part is;
and from an activity feed notification to the person's 1:1 chat with kambot, where its card is.

A card holds about 80 KB (cards/fit.py): the relationship map, a plan review and its
summary show their first entries and link to the Stakeholders or Plan tab for the rest;
the timeline links to the Log. The link is a Teams deep link to the tab as provisioning
configured it (`graph.provisioning.tab_specs`: its entity id), in the account's channel;
Teams opens it in place, with the tab's single sign-on. Without the app's id (local mode)
or a channel there is no link, and the card names the tab in words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from bot.links import TAB_KINDS
from bot.settings import Settings
from graph.provisioning import tab_specs
from kam.models import Account

Tab = Literal["plan", "log", "stakeholders"]
DEEP_LINK = "https://teams.microsoft.com/l/entity/"


@dataclass(frozen=True)
class TabLinks:
    """`app_id`: the app's id in the tenant's app catalog (KAMBOT_TEAMS_APP_ID); for an app uploaded by hand,
    its manifest id, which is the bot's app id."""

    app_id: str
    base_url: str

    @classmethod
    def of(cls, settings: Settings) -> TabLinks:
        return cls(settings.teams_app_id or settings.app_id, settings.public_base_url)

    def to(self, account: Account, tab: Tab) -> str | None:
        if not self.app_id or not account.channel_id:
            return None
        spec = dict(zip(TAB_KINDS, tab_specs(account, self.base_url), strict=True))[tab]
        query = urlencode(
            {
                "webUrl": spec.website_url,
                "label": spec.name,
                "context": json.dumps({"channelId": account.channel_id}, separators=(",", ":")),
            },
            quote_via=quote,
        )
        return f"{DEEP_LINK}{quote(self.app_id, safe='')}/{quote(spec.entity_id, safe='')}?{query}"

    def portfolio(self) -> str | None:
        """The head of KAM's and the KA managers' portfolio page (not a tab of an account's channel)."""
        return self._page("/tabs/portfolio")

    def insights(self, account: Account) -> str | None:
        """An account's Insights page; the page asks the access policy who sees which of its figures."""
        return self._page(f"/tabs/insights?account={account.id}")

    def _page(self, path: str) -> str | None:
        return f"{self.base_url.rstrip('/')}{path}" if self.base_url else None

    def to_chat(self, tenant_id: str | None) -> str | None:
        """The person's 1:1 chat with kambot (Microsoft's "deep link to a chat with the application")."""
        if not self.app_id:
            return None
        query = f"?{urlencode({'tenantId': tenant_id})}" if tenant_id else ""
        return f"{DEEP_LINK}{quote(self.app_id, safe='')}/conversations{query}"
