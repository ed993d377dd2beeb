"""Qt's own messages (qWarning and friends) routed into ``logging`` under the "qt" logger.

Without this Qt prints straight to stderr: its warnings would miss the log file, the in-app
log view and the redactor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

LEVELS: dict[QtMsgType, int] = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}

MessageHandler = Callable[[QtMsgType, QMessageLogContext, str], Any]

_previous: list[MessageHandler | None] = []


def qt_message_handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = LEVELS.get(kind, logging.WARNING)
    category = context.category if context is not None else None
    if category and category != "default":
        log.log(level, "%s: %s", category, message)
    else:
        log.log(level, "%s", message)


def install_qt_message_handler() -> None:
    """Send Qt's messages to ``logging``; ``uninstall_qt_message_handler`` puts back the last."""
    _previous.append(qInstallMessageHandler(qt_message_handler))


def uninstall_qt_message_handler() -> None:
    if _previous:
        qInstallMessageHandler(_previous.pop())
