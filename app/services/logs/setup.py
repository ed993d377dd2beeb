"""Logging for the app: one logger per subsystem, and no secret ever reaches a handler."""

from __future__ import annotations

import logging
import re
import threading

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_TRACEBACKS = logging.Formatter()


class SecretRedactor(logging.Filter):
    """Replaces registered secrets, bearer tokens and JWTs in every record with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, secret: str) -> None:
        if len(secret) >= 4:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, message: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            message = message.replace(secret, "***")
        message = _BEARER.sub(r"\1***", message)
        return _JWT.sub("***", message)

    def filter(self, record: logging.LogRecord) -> bool:
        rendered = record.getMessage()
        clean = self.redact(rendered)
        if clean != rendered:
            record.msg, record.args = clean, None
        # A traceback can quote a secret too (an exception's message); render it here, redacted,
        # so every formatter after this filter reuses the clean text.
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """A formatter whose output goes through the redactor: the last line of defence."""

    def format(self, record: logging.LogRecord) -> str:
        return REDACTOR.redact(super().format(record))


REDACTOR = SecretRedactor()
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.WARNING) -> None:
    """Log to stderr through the redactor (the GUI adds its own handlers later)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(LINE_FORMAT))
    handler.addFilter(REDACTOR)
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep it quiet unless debugging.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
