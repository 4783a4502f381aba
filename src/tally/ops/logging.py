"""Logs: one JSON object per line under `tally serve` and `tally worker`, text elsewhere.

Every record carries the request id of the request it belongs to (a contextvar set by
`tally.api.middleware`; Starlette copies the context into the threads that run handlers).
Nothing here logs headers, query strings or raw paths; as a second line of defence the
formatter masks what looks like a credential (Basic/Bearer values, `token=`, `secret=`,
portal links' keys), in case some library's message carries one.
"""

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("tally_request_id", default=None)

# Fields a record may carry through `extra=` that belong in the JSON line.
_FIELDS = ("method", "route", "status", "duration_ms", "client")

_SECRETS = [
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(token|secret|password|api_secret)=[^&\s\"']+"), r"\1=[redacted]"),
    (re.compile(r"/portal/c/[^/?#\s\"']+"), "/portal/c/[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": request_id.get(),
        }
        for field in _FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        rid = request_id.get()
        return f"{text} [request {rid}]" if rid else text


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for Tally and uvicorn (uvicorn applies it in each of
    its processes). uvicorn's access log is off: `tally.access` writes one line a request
    with the route template instead of the raw path."""
    formatter = "tally.ops.logging.JsonFormatter" if log_format == "json" else None
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "tally": {"()": formatter or "tally.ops.logging.TextFormatter"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "tally",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # httpx logs every request's URL at INFO: webhook URLs may carry tokens.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            # PDF rendering: WeasyPrint warns about every CSS property it does not support
            # and fontTools narrates font subsetting; neither is the operator's to act on.
            "weasyprint": {"level": "ERROR"},
            "fontTools": {"level": "ERROR"},
            "alembic.runtime.plugins": {"level": "WARNING"},  # a line per plugin, every start
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure(log_format: str, level: str) -> None:
    logging.config.dictConfig(log_config(log_format, level))
