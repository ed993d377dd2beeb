"""The app's own log, in the window: filter by level, search, copy, open the log folder.

Lines come from the ``LogBuffer`` (already redacted). The buffer only says that lines arrived,
possibly from a worker thread; the pane fetches them on a short timer, so a burst of records
is one append, and the view never holds more than its block limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services import paths
from app.services.logs.buffer import LogBuffer, LogLine
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.theme import Colours, colours, set_tone
from app.ui.widgets.presenter_fields import hide_while_presenting

FLUSH_INTERVAL_MS = 200
DEFAULT_MAX_BLOCKS = 5_000
SEARCH_PAUSE_MS = 250
LEVELS: tuple[tuple[str, int], ...] = (
    ("Debug and above", logging.DEBUG),
    ("Info and above", logging.INFO),
    ("Warnings and errors", logging.WARNING),
    ("Errors only", logging.ERROR),
)

FolderOpener = Callable[[Path], bool]


def open_folder(folder: Path) -> bool:
    """Show ``folder`` in the OS file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


_LEVEL = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
_LEVEL_STATES = {"DEBUG": 1, "INFO": 2, "WARNING": 3, "ERROR": 4, "CRITICAL": 4}


class _LevelHighlighter(QSyntaxHighlighter):
    """Colours warnings and errors (and their traceback lines) so they stand out."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._colours: Colours | None = None
        self._formats: dict[int, QTextCharFormat] = {}

    def restyle(self) -> None:
        """Re-colour every line when the colours changed (the OS switched light/dark)."""
        if self._colours is not colours():
            self.rehighlight()

    def _current_formats(self) -> dict[int, QTextCharFormat]:
        c = colours()
        if self._colours is not c:
            self._colours = c
            self._formats = {}
            for state, colour, bold in ((1, c.muted, False), (3, c.warn, False), (4, c.fail, True)):
                fmt = QTextCharFormat()
                fmt.setForeground(QColor(colour))
                if bold:
                    fmt.setFontWeight(QFont.Weight.DemiBold)
                self._formats[state] = fmt
        return self._formats

    def highlightBlock(self, text: str) -> None:
        match = _LEVEL.match(text)
        # A line without a time stamp continues the record above (a traceback).
        state = _LEVEL_STATES[match.group(1)] if match else max(self.previousBlockState(), 0)
        self.setCurrentBlockState(state)
        fmt = self._current_formats().get(state)
        if fmt is not None:
            self.setFormat(0, len(text), fmt)


class _Arrivals(QObject):
    """Carries "lines arrived" from any thread to the GUI thread (a queued signal)."""

    arrived = Signal()


class LogPane(QWidget):
    """A read-only, bounded view of the log buffer. ``set_session`` does nothing: the log is
    the app's, not one connection's."""

    def __init__(
        self,
        ui: UiContext,
        buffer: LogBuffer,
        *,
        folder: Path | None = None,
        opener: FolderOpener = open_folder,
        max_blocks: int = DEFAULT_MAX_BLOCKS,
        flush_interval_ms: int = FLUSH_INTERVAL_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("logPane")
        self._ui = ui
        self._buffer = buffer
        self._folder = folder
        self._opener = opener
        self._seen = 0  # the last buffer seq shown or deliberately skipped
        self._build_bar()
        self._build_view(max_blocks)
        self._lay_out()
        self._listen(buffer, flush_interval_ms)
        self._connect_controls()
        self._apply_font()
        self._rebuild()

    def _build_bar(self) -> None:
        """The level, the search, Copy and Open log folder; and the status line below."""
        self.level = QComboBox()
        self.level.setObjectName("logLevel")
        for label, level in LEVELS:
            self.level.addItem(label, level)
        self.level.setCurrentIndex(1)
        self.search = QLineEdit()
        self.search.setObjectName("logSearch")
        self.search.setPlaceholderText("Search the log")
        self.search.setClearButtonEnabled(True)
        hide_while_presenting(self._ui.presenter, self.search)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the lines shown to the clipboard")
        self.open_button = QPushButton("Open log folder")
        self.open_button.setToolTip("Show the rotating log files in the file manager")
        self.status = QLabel()
        self.status.setObjectName("logStatus")
        set_tone(self.status, "muted")

    def _build_view(self, max_blocks: int) -> None:
        self.view = QPlainTextEdit()
        self.view.setObjectName("logView")
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setMaximumBlockCount(max_blocks)
        self.view.setPlaceholderText("Nothing logged yet.")
        self._highlighter = _LevelHighlighter(self.view.document())
        self.view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.level)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

    def _listen(self, buffer: LogBuffer, flush_interval_ms: int) -> None:
        """Hear of new lines from any thread; fetch them on the GUI thread after a short wait."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_interval_ms)
        self._timer.timeout.connect(self._flush)
        self._arrivals = _Arrivals(self)
        self._arrivals.arrived.connect(self._schedule, Qt.ConnectionType.QueuedConnection)
        unsubscribe = buffer.subscribe(self._arrivals.arrived.emit)
        self._unsubscribe: Callable[[], None] | None = unsubscribe
        # A pane deleted without aclose() must not be signalled from a logging thread.
        self._arrivals.destroyed.connect(lambda *_: unsubscribe())

    def _connect_controls(self) -> None:
        self.level.currentIndexChanged.connect(self._rebuild)
        # Re-filtering thousands of lines per keystroke would stutter: wait for a pause.
        self._search_pause = QTimer(self)
        self._search_pause.setSingleShot(True)
        self._search_pause.setInterval(SEARCH_PAUSE_MS)
        self._search_pause.timeout.connect(self._rebuild)
        self.search.textChanged.connect(self._search_pause.start)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.open_button.clicked.connect(self.open_log_folder)
        self._ui.presenter.changed.connect(self._presenter_changed)

    # ---- SessionPane ---------------------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        """The log is the whole app's; nothing changes with the connection."""

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._timer.stop()
        self._search_pause.stop()

    # ---- what is shown -------------------------------------------------------------------------
    @property
    def min_level(self) -> int:
        level: int = self.level.currentData()
        return level

    @property
    def folder(self) -> Path:
        return self._folder or paths.log_dir()

    def _render(self, lines: list[LogLine]) -> list[str]:
        """The lines that pass the level and search filters, as the viewer may see them."""
        level = self.min_level
        needle = self.search.text().strip().casefold()
        shown: list[str] = []
        for line in lines:
            if line.level < level:
                continue
            text = self._ui.presenter.text(line.text)
            # Search what is on screen: in presenter mode a masked number is not findable.
            if not needle or needle in text.casefold():
                shown.append(text)
        return shown

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        fresh = self._buffer.since(self._seen)
        if not fresh:
            return
        self._seen = fresh[-1].seq
        shown = self._render(fresh)
        if shown:
            self._append(shown)
        self._update_status()

    def _append(self, texts: list[str]) -> None:
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        kept = bar.value()
        self.view.appendPlainText("\n".join(texts))
        # Follow new lines only when the engineer is not reading further up.
        bar.setValue(bar.maximum() if at_bottom else min(kept, bar.maximum()))

    def _rebuild(self) -> None:
        """Re-render everything held (filter, search or presenter mode changed)."""
        self._timer.stop()
        self._search_pause.stop()
        lines = self._buffer.lines()
        self._seen = lines[-1].seq if lines else self._buffer.last_seq
        self.view.clear()
        shown = self._render(lines)
        if shown:
            self.view.setPlainText("\n".join(shown))
            bar = self.view.verticalScrollBar()
            bar.setValue(bar.maximum())
        self._update_status()

    def _update_status(self) -> None:
        shown = self.view.blockCount() if self.view.toPlainText() else 0
        self.status.setText(
            f"{shown:,} lines shown. The last {self._buffer.capacity:,} records are kept here; "
            "the log folder has the full log."
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        highlighter: _LevelHighlighter | None = getattr(self, "_highlighter", None)
        if highlighter is not None and event.type() == QEvent.Type.PaletteChange:
            highlighter.restyle()  # the OS switched light/dark

    def _presenter_changed(self) -> None:
        self._apply_font()
        self._rebuild()

    def _apply_font(self) -> None:
        font = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        base = QGuiApplication.font().pointSizeF()
        if base > 0:
            font.setPointSizeF(base)
        self.view.setFont(font)

    # ---- actions -------------------------------------------------------------------------------
    def copy_to_clipboard(self) -> None:
        """The lines as shown (filtered, and masked in presenter mode)."""
        QGuiApplication.clipboard().setText(self.view.toPlainText())
        self.status.setText("Copied the lines shown to the clipboard.")

    def open_log_folder(self) -> None:
        folder = self.folder
        if not self._opener(folder):
            self.status.setText(
                f"Could not open the log folder; it is {self._ui.presenter.text(str(folder))}"
            )
