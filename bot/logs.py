"""Logging set-up: ids only, never tracebacks, tokens or patient text in a log line."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_NOISY_LOGGERS = ("httpx", "httpcore", "telegram", "apscheduler", "transformers", "urllib3", "matplotlib")


class SafeFormatter(logging.Formatter):
    """Formats records without tracebacks and with bot tokens redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the message; an exception becomes its type name only."""
        message = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            message = f"{message} [{record.exc_info[0].__name__}]"
        record_copy = logging.makeLogRecord(record.__dict__)
        record_copy.msg, record_copy.args = message, None
        record_copy.exc_info, record_copy.exc_text, record_copy.stack_info = None, None, None
        return _TOKEN_PATTERN.sub("<token>", super().format(record_copy))


def redact(text: str, *secrets: str) -> str:
    """Remove bot tokens and the given secrets from a string."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return _TOKEN_PATTERN.sub("<token>", text)


def setup_logging(level: str = "INFO", *, verbose: bool = True) -> None:
    """Send logs to stderr through the safe formatter; quiet third-party chatter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper() if verbose else logging.CRITICAL + 1)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if verbose else logging.CRITICAL + 1)
