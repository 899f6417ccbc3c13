"""Structured logs: one JSON object per line, with the activity and conversation of the turn being handled."""

from __future__ import annotations

import contextvars
import json
import logging

ACTIVITY_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("activity_id", default=None)
CONVERSATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("conversation_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in (("activity_id", ACTIVITY_ID), ("conversation_id", CONVERSATION_ID)):
            if var.get() is not None:
                entry[name] = var.get()
        for key in ("tenant", "outbox_id", "kind"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
