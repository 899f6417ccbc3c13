"""The edge of /api/messages: what is not an activity is refused here, before botbuilder sees it.

Everything below runs before authentication, on bytes anyone can send, so each
check is linear in the body's size and none of them can raise: a body is either
a plausible activity or a reason for a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # activities nest a handful of levels; card data a few more
MAX_NODES = 20_000
ENVELOPE_MAX = 2048
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 and C1 control characters, and DEL

# The fields botbuilder and kambot route by: plain strings, no controls, bounded.
ENVELOPE_FIELDS: tuple[tuple[str, ...], ...] = (
    ("type",),
    ("id",),
    ("name",),
    ("channelId",),
    ("serviceUrl",),
    ("locale",),
    ("localTimezone",),
    ("replyToId",),
    ("conversation", "id"),
    ("conversation", "conversationType"),
    ("conversation", "tenantId"),
    ("from", "id"),
    ("from", "name"),
    ("from", "aadObjectId"),
    ("recipient", "id"),
    ("recipient", "name"),
    ("channelData", "tenant", "id"),
    ("channelData", "team", "id"),
    ("channelData", "channel", "id"),
)


class NotAnActivity(Exception):
    """The body cannot be an activity; the message says why, for the 400."""


def read_activity(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object that may be an activity; NotAnActivity otherwise."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise NotAnActivity("The body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise NotAnActivity("The body is not JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
        raise NotAnActivity("The body is not an activity.")
    _check_shape(body)
    for path in ENVELOPE_FIELDS:
        _check_envelope(body, path)
    return body


def _check_shape(body: dict[str, Any]) -> None:
    """Bounded depth and size, and text that can be stored: no lone surrogates anywhere."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    nodes = 0
    while pending:
        node, depth = pending.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise NotAnActivity("The body is nested too deeply.")
        if nodes > MAX_NODES:
            raise NotAnActivity("The body has too many parts.")
        if isinstance(node, dict):
            for key, value in node.items():
                _storable(key)
                pending.append((value, depth + 1))
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)
        elif isinstance(node, str):
            _storable(node)


def _storable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotAnActivity("The body holds text that is not valid Unicode.") from None


def _check_envelope(body: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = body
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if node is None:
        return
    where = ".".join(path)
    if not isinstance(node, str):
        raise NotAnActivity(f"{where} must be a string.")
    if len(node) > ENVELOPE_MAX:
        raise NotAnActivity(f"{where} is too long.")
    if _CONTROLS.search(node):
        raise NotAnActivity(f"{where} holds control characters.")
    if path == ("serviceUrl",) and not node.startswith(("https://", "http://")):
        raise NotAnActivity("serviceUrl must be an http(s) URL.")
