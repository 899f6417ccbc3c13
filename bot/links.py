"""kambot's own links to an account, and which account a pasted one names.

Two shapes, under KAMBOT_PUBLIC_BASE_URL: an account's tabs, `/tabs/<kind>?account=<id>` (the
address provisioning gives each channel tab, graph/provisioning.tab_specs; Teams opens it with
"Go to website"), and the account link, `/accounts/<id>`, short enough to type or to keep in a
CRM record; in a browser it shows a page without account data (bot/tabs/pages.py).

A pasted link is a claim like a card's ids: it is read strictly here (the base URL's scheme,
host and port, one of these paths, the id in plain digits and nothing more), then looked up
and checked by the router. Anything else names no account.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from graph.provisioning import TABS

TAB_KINDS = tuple(kind for kind, _ in TABS)
ACCOUNT_PATH = "/accounts/"
MAX_LINK = 2048
_ID = re.compile(r"[1-9][0-9]{0,8}")
# Printable ASCII without spaces: all a link of ours is made of. Python's URL parser silently
# drops tabs and line breaks, which would let "/acc\nounts/1" pass for "/accounts/1".
_LINK_CHARACTERS = re.compile(r"[\x21-\x7e]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def account_id_in(raw: str) -> int | None:
    """An account id as kambot writes it into its links: 1 to 999,999,999, digits only."""
    return int(raw) if _ID.fullmatch(raw) else None


def account_link(base_url: str, account_id: int) -> str:
    return f"{base_url.rstrip('/')}{ACCOUNT_PATH}{account_id}"


def _port(parts: SplitResult) -> int | None:
    return parts.port or _DEFAULT_PORTS.get(parts.scheme)


def linked_account_id(url: str, base_url: str) -> int | None:
    """The account a pasted link names, if it is one of kambot's links; None for any other text.

    The fragment is ignored: it never reaches a server, and names nothing.
    """
    if len(url) > MAX_LINK or not _LINK_CHARACTERS.fullmatch(url):
        return None
    try:
        link, base = urlsplit(url), urlsplit(base_url.rstrip("/"))
        same_origin = (link.scheme, link.hostname, _port(link)) == (base.scheme, base.hostname, _port(base))
    except ValueError:  # a port that is not a number, or out of range
        return None
    if not same_origin or base.hostname is None or link.username is not None:
        return None
    if not link.path.startswith(f"{base.path}/"):
        return None
    path = link.path[len(base.path) :]
    if path.startswith(ACCOUNT_PATH) and not link.query:
        return account_id_in(path[len(ACCOUNT_PATH) :])
    if path in {f"/tabs/{kind}" for kind in TAB_KINDS} and link.query.startswith("account="):
        return account_id_in(link.query[len("account=") :])
    return None
