"""The left-hand list of every customer PBX the engineer looks after, with add, edit, remove.

``ConnectionsModel`` is a table over ``ConnectionProfile`` with an id->row index; the key age
column warns about a key older than the engineer's limit, and the status column shows the last
doctor run as a coloured pill. ``ConnectionsPane`` wraps it with the buttons (set up, add, edit,
rotate key, remove), a filter, the empty state and two banners: no OS keyring (with the offer to
hold keys in memory for this session) and a settings file that was set aside.

Presenter mode: the pane never holds a key. While it is on, every connection but the selected
one shows its name and customer as initials, so a customer on a shared screen does not read
the MSP's client list.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.clock import utc_now
from app.domain.connection import (
    CheckStatusSummary,
    ConnectionProfile,
    LastCheck,
    key_age_text,
    key_age_warning,
)
from app.services.connections import ConnectionStore, ConnectionStoreError
from app.ui.connections.dialog import ConnectionDialog
from app.ui.connections.key_rotation_dialog import KeyRotationDialog
from app.ui.context import UiContext
from app.ui.dialogs import confirm, inform, run_dialog
from app.ui.presenter import Presenter
from app.ui.theme import WARN

log = logging.getLogger("pbx.ui.connections")

ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
SORT_ROLE: Final = Qt.ItemDataRole.UserRole + 2
STATUS_ROLE: Final = Qt.ItemDataRole.UserRole + 3

HEADERS: Final = ("Name", "Customer", "Version", "Hosting", "Region", "Key age", "Status")
NAME, CUSTOMER, VERSION, HOSTING, REGION, KEY_AGE, STATUS = range(len(HEADERS))
DEFAULT_KEY_AGE_WARNING_DAYS: Final = 180


@dataclasses.dataclass(frozen=True)
class StatusLook:
    label: str
    background: str
    foreground: str
    severity: int  # for sorting: worst first when descending


STATUS_LOOKS: Final[dict[CheckStatusSummary, StatusLook]] = {
    CheckStatusSummary.NEVER: StatusLook("Not checked", "#eceff3", "#4b5563", 0),
    CheckStatusSummary.PASS: StatusLook("Pass", "#dcf2e3", "#17603a", 1),
    CheckStatusSummary.WARN: StatusLook("Warnings", "#fdf1d6", "#8a5300", 2),
    CheckStatusSummary.FAIL: StatusLook("Failing", "#fde0de", "#a3231b", 3),
    CheckStatusSummary.UNREACHABLE: StatusLook("Unreachable", "#efe4fa", "#5b2a91", 4),
}


def _when(at: datetime, now: datetime) -> str:
    """ "21 Nov 2026 10:15 your time (3 hours ago)": when the engineer ran it, on their clock.

    The customer's clock is for the customer's calls; this is the engineer's own history."""
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 90:
        ago = "just now"
    elif seconds < 90 * 60:
        ago = f"{seconds // 60} minutes ago"
    elif seconds < 36 * 3600:
        ago = f"{seconds // 3600} hours ago"
    else:
        ago = f"{seconds // 86400} days ago"
    local = at.astimezone()  # the engineer's zone, labelled as such
    return f"{local:%d %b %Y %H:%M} your time ({ago})"


class ConnectionsModel(QAbstractTableModel):
    """Connections in the order they were added; the view sorts through a proxy."""

    def __init__(
        self,
        presenter: Presenter,
        parent: QObject | None = None,
        *,
        key_age_warning_days: int = DEFAULT_KEY_AGE_WARNING_DAYS,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._key_age_warning_days = key_age_warning_days
        self._rows: list[ConnectionProfile] = []
        self._row_of: dict[str, int] = {}
        self._current: str | None = None
        presenter.changed.connect(self._refresh_all)

    # ---- changes ---------------------------------------------------------------------------
    def set_connections(self, profiles: Sequence[ConnectionProfile]) -> None:
        self.beginResetModel()
        self._rows = list(profiles)
        self._reindex()
        self.endResetModel()

    def upsert(self, profile: ConnectionProfile) -> None:
        row = self._row_of.get(profile.id)
        if row is None:
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(profile)
            self._row_of[profile.id] = row
            self.endInsertRows()
            return
        self._rows[row] = profile
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def remove(self, connection_id: str) -> None:
        row = self._row_of.get(connection_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._reindex()
        self.endRemoveRows()

    def set_status(self, connection_id: str, check: LastCheck) -> None:
        profile = self.profile(connection_id)
        if profile is not None:
            self.upsert(dataclasses.replace(profile, last_check=check))

    def set_current(self, connection_id: str | None) -> None:
        """The connection on screen: in presenter mode the others show initials only."""
        if connection_id == self._current:
            return
        self._current = connection_id
        if self._presenter.enabled and self._rows:
            self.dataChanged.emit(self.index(0, NAME), self.index(len(self._rows) - 1, CUSTOMER))

    def set_key_age_warning_days(self, days: int) -> None:
        """The engineer's limit (Settings): keys older than this are marked in the key age."""
        if days == self._key_age_warning_days:
            return
        self._key_age_warning_days = days
        if self._rows:
            self.dataChanged.emit(self.index(0, KEY_AGE), self.index(len(self._rows) - 1, KEY_AGE))

    def key_warning(self, profile: ConnectionProfile) -> str | None:
        """Why the key wants rotating (None: it does not, or it is the demo's)."""
        if profile.demo:
            return None
        return key_age_warning(profile, now=utc_now(), warn_days=self._key_age_warning_days)

    def _reindex(self) -> None:
        self._row_of = {profile.id: row for row, profile in enumerate(self._rows)}

    def _refresh_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(HEADERS) - 1)
            )
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(HEADERS) - 1)

    # ---- lookups ---------------------------------------------------------------------------
    def profile(self, connection_id: str) -> ConnectionProfile | None:
        row = self._row_of.get(connection_id)
        return self._rows[row] if row is not None else None

    def row_of(self, connection_id: str) -> int | None:
        return self._row_of.get(connection_id)

    def profile_at(self, row: int) -> ConnectionProfile:
        return self._rows[row]

    def ids(self) -> list[str]:
        return [profile.id for profile in self._rows]

    # ---- Qt --------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        profile = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(profile, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(profile, column)
        if role == ID_ROLE:
            return profile.id
        if role == STATUS_ROLE:
            return profile.status.value
        if role == SORT_ROLE:
            return self._sort_key(profile, column)
        if role == Qt.ItemDataRole.FontRole and column == NAME and profile.demo:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and column == KEY_AGE:
            return QBrush(QColor(WARN)) if self.key_warning(profile) else None
        if role == Qt.ItemDataRole.ForegroundRole and column in (VERSION, HOSTING, REGION):
            # A placeholder ("—", "auto") reads quieter than a detected value.
            return None if self._display_value(profile, column) else QBrush(QColor("#8a94a3"))
        return None

    def _masked(self, profile: ConnectionProfile) -> bool:
        return self._presenter.enabled and profile.id != self._current

    @staticmethod
    def _display_value(profile: ConnectionProfile, column: int) -> str:
        return {
            VERSION: profile.version or "",
            HOSTING: profile.hosting or "",
            REGION: profile.region or "",
        }.get(column, "")

    def _display(self, profile: ConnectionProfile, column: int) -> str:
        if column == NAME:
            name = self._presenter.name(profile.name) if self._masked(profile) else profile.name
            return f"{name} · demo" if profile.demo else name
        if column == CUSTOMER:
            customer = profile.customer
            return self._presenter.name(customer) if self._masked(profile) else customer
        if column == VERSION:
            return profile.version or "—"
        if column == HOSTING:
            return profile.hosting or "—"
        if column == REGION:
            return profile.region or "auto"
        if column == KEY_AGE:
            if profile.demo:
                return "—"
            age = key_age_text(profile, now=utc_now())
            return f"⚠ {age}" if self.key_warning(profile) else age
        if column == STATUS:
            return STATUS_LOOKS[profile.status].label
        return ""

    def _tooltip(self, profile: ConnectionProfile, column: int) -> str | None:
        if column == STATUS:
            look = STATUS_LOOKS[profile.status]
            check = profile.last_check
            if check is None:
                return "Not checked yet: select the connection and run the doctor."
            summary = self._presenter.text(check.summary)
            when = _when(check.at, utc_now())
            return f"{look.label}, checked {when}" + (f"\n{summary}" if summary else "")
        if column == KEY_AGE:
            if profile.demo:
                return "The demo's key lives in memory only and is never rotated."
            warning = self.key_warning(profile)
            return (
                f"{warning}\nSelect the connection and choose Rotate key…"
                if warning
                else f"Keys older than {self._key_age_warning_days} days are marked (Settings)."
            )
        if column == NAME and profile.demo:
            return "Demo: a simulated PBX running inside PBX Companion. It is not saved."
        if column == NAME and not self._masked(profile):
            return f"{profile.name}\n{profile.url}"
        if column == REGION and not profile.region:
            return "Numbers are read with the PBX's own country."
        if column == VERSION and not profile.version:
            return "Detected at the first check."
        return None

    def _sort_key(self, profile: ConnectionProfile, column: int) -> object:
        if column == STATUS:
            return STATUS_LOOKS[profile.status].severity
        if column == NAME:
            return profile.name.casefold()
        if column == CUSTOMER:
            return profile.customer.casefold()
        if column == KEY_AGE:
            # Newest key first when ascending; an unknown age and the demo's sort first.
            rotated = profile.key_rotated_at
            return -math.inf if rotated is None or profile.demo else -rotated.timestamp()
        return self._display_value(profile, column).casefold()


class _RoomyDelegate(QStyledItemDelegate):
    """Default cells with breathing room, so content-sized columns do not touch."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 16, base.height())


class StatusPillDelegate(QStyledItemDelegate):
    """Paints the status as a rounded, coloured pill with a dot, readable on any selection."""

    PADDING: Final = 8

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        look = STATUS_LOOKS.get(CheckStatusSummary(str(index.data(STATUS_ROLE))))
        if look is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        metrics = option.fontMetrics
        text_width = metrics.horizontalAdvance(look.label)
        height = metrics.height() + 4
        dot = max(6, metrics.height() // 2 - 1)
        width = text_width + dot + self.PADDING * 2 + 6
        cell: QRect = option.rect
        pill = QRectF(
            cell.x() + 6,
            cell.y() + (cell.height() - height) / 2,
            min(width, cell.width() - 12),
            height,
        )
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(look.background))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setBrush(QColor(look.foreground))
        painter.drawEllipse(QRectF(pill.x() + self.PADDING, pill.center().y() - dot / 2, dot, dot))
        painter.setPen(QColor(look.foreground))
        text_rect = pill.adjusted(self.PADDING + dot + 6, 0, -self.PADDING, 0)
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), look.label
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        metrics = option.fontMetrics
        widest = max(metrics.horizontalAdvance(look.label) for look in STATUS_LOOKS.values())
        return QSize(
            widest + metrics.height() + self.PADDING * 2 + 20,
            max(base.height(), metrics.height() + 12),
        )


class _Banner(QFrame):
    """A calm, coloured strip across the top of the pane with a message and optional actions."""

    STYLES: Final = {
        "warning": ("#fff7e6", "#e8c27a", "#5c3d00"),
        "info": ("#eaf2fd", "#a9c6ef", "#1d3c6e"),
    }

    def __init__(self, object_name: str, kind: str = "warning") -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.text = QLabel()
        self.text.setObjectName(f"{object_name}Text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.text)
        layout.addLayout(self.buttons)
        self.set_kind(kind)
        self.setVisible(False)

    def set_kind(self, kind: str) -> None:
        background, border, text = self.STYLES[kind]
        name = self.objectName()
        self.setStyleSheet(
            f"QFrame#{name} {{ background: {background}; border: 1px solid {border}; "
            f"border-radius: 6px; }} QFrame#{name} QLabel {{ color: {text}; }}"
        )

    def add_button(self, text: str, object_name: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(object_name)
        self.buttons.addWidget(button)
        return button


class ConnectionsPane(QWidget):
    """Every customer PBX: a sortable list with key age and status, plus set up, add, edit,
    rotate key and remove.

    ``selected`` carries the chosen connection id (None: none). ``edited`` carries the id of a
    connection whose address, identity or key changed (reopen its session); ``removed`` the id
    of one that is gone. ``setupRequested`` asks the window for the guided setup.
    """

    selected = Signal(object)
    edited = Signal(str)
    removed = Signal(str)
    setupRequested = Signal()

    def __init__(
        self, ui: UiContext, store: ConnectionStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connectionsPane")
        self._ui = ui
        self._store = store
        self._selected_id: str | None = None
        self._busy = False
        self._settings_dismissed = False
        self.open_dialog: QDialog | None = None  # the dialog on screen, if any
        # While the filter or a removal moves Qt's current row, that is not the engineer
        # choosing another connection: nothing is emitted.
        self._quiet = False

        self.model = ConnectionsModel(
            ui.presenter, self, key_age_warning_days=store.settings.key_age_warning_days
        )
        self.model.set_connections(store.connections())
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setDynamicSortFilter(True)

        self.keyring_banner = _Banner("keyringBanner")
        self.session_only_button = self.keyring_banner.add_button(
            "Hold keys in memory for this session", "sessionOnlyButton"
        )
        self.session_only_button.clicked.connect(self._use_session_only)
        self.settings_banner = _Banner("settingsBanner")
        dismiss = self.settings_banner.add_button("Dismiss", "dismissSettingsButton")
        dismiss.clicked.connect(self._dismiss_settings_problem)

        title = QLabel("Connections")
        title.setObjectName("connectionsTitle")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        title.setFont(font)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("connectionsFilter")
        self.filter_edit.setPlaceholderText("Filter by name or customer")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter)
        header_row = QHBoxLayout()
        header_row.addWidget(title)
        header_row.addStretch(1)
        header_row.addWidget(self.filter_edit)

        self.view = QTableView()
        self.view.setObjectName("connectionsView")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 16)
        self._cell_delegate = _RoomyDelegate(self.view)
        self.view.setItemDelegate(self._cell_delegate)
        self._status_delegate = StatusPillDelegate(self.view)
        self.view.setItemDelegateForColumn(STATUS, self._status_delegate)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(CUSTOMER, QHeaderView.ResizeMode.Stretch)
        for column in (VERSION, HOSTING, REGION, KEY_AGE, STATUS):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(60)
        self.view.doubleClicked.connect(lambda _index: self._start_edit())
        selection = self.view.selectionModel()
        selection.currentRowChanged.connect(self._on_current_changed)

        self.empty_label = QLabel(
            "No customer PBX yet.\n\nChoose Set up a PBX… to be guided from the address to a "
            "verified key, or Add… to paste the PBX address, the Client ID and the API key from "
            "the 3CX admin console (Integrations → API)."
        )
        self.empty_label.setObjectName("connectionsEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #5a6472; padding: 24px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_label)

        self.setup_button = QPushButton("Set up a PBX…")
        self.setup_button.setObjectName("setupConnectionButton")
        self.setup_button.setToolTip(
            "Guided setup: the address, the API client, a verified key, recording and numbers"
        )
        self.add_button = QPushButton("Add…")
        self.add_button.setObjectName("addConnectionButton")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("editConnectionButton")
        self.rotate_button = QPushButton("Rotate key…")
        self.rotate_button.setObjectName("rotateKeyButton")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeConnectionButton")
        self.setup_button.clicked.connect(lambda: self.setupRequested.emit())
        self.add_button.clicked.connect(self._start_add)
        self.edit_button.clicked.connect(self._start_edit)
        self.rotate_button.clicked.connect(self._start_rotate)
        self.remove_button.clicked.connect(self._start_remove)
        # Two rows, so the pane stays narrow beside the tabs: new connections, then the
        # selected one.
        new_row = QHBoxLayout()
        new_row.addWidget(self.setup_button)
        new_row.addWidget(self.add_button)
        new_row.addStretch(1)
        self.key_place = QLabel()
        self.key_place.setObjectName("keyPlace")
        self.key_place.setStyleSheet("color: #5a6472;")
        new_row.addWidget(self.key_place)
        selected_row = QHBoxLayout()
        selected_row.addWidget(self.edit_button)
        selected_row.addWidget(self.rotate_button)
        selected_row.addWidget(self.remove_button)
        selected_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.keyring_banner)
        layout.addWidget(self.settings_banner)
        layout.addLayout(header_row)
        layout.addWidget(self.stack, 1)
        layout.addLayout(selected_row)
        layout.addLayout(new_row)

        self.model.rowsInserted.connect(self._update_state)
        self.model.rowsRemoved.connect(self._update_state)
        self.model.modelReset.connect(self._update_state)
        ui.presenter.changed.connect(self._render_banners)
        self._render_banners()
        self._update_state()

    # ---- what the window calls -------------------------------------------------------------
    def selected_id(self) -> str | None:
        return self._selected_id

    def select(self, connection_id: str | None) -> None:
        """Select a connection (None: clear the selection); ``selected`` fires if it changed."""
        if connection_id is None or self.model.row_of(connection_id) is None:
            self._quiet = True
            try:
                self.view.selectionModel().clear()
            finally:
                self._quiet = False
            self._set_selected(None)
            return
        if not self._view_index(connection_id).isValid():
            self.filter_edit.clear()  # the filter hides it
        index = self._view_index(connection_id)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        self._set_selected(connection_id)

    def reload(self) -> None:
        """Show the store's connections again (one was saved elsewhere, e.g. by the setup);
        the selection stays."""
        saved = self._store.connections()
        for profile in saved:
            self.model.upsert(profile)
        keep = {profile.id for profile in saved}
        self._quiet = True
        try:
            for connection_id in self.model.ids():
                if connection_id not in keep:
                    self.model.remove(connection_id)
        finally:
            self._quiet = False
        if self._selected_id is not None and self.model.row_of(self._selected_id) is None:
            self.select(None)

    def set_key_age_warning_days(self, days: int) -> None:
        self.model.set_key_age_warning_days(days)

    def add_demo(self, profile: ConnectionProfile) -> None:
        """Show the demo connection (not saved); register its key with ``store.add_demo``."""
        if not profile.demo:
            raise ValueError("add_demo() takes a profile with demo=True")
        self.model.upsert(profile)

    def refresh_status(
        self,
        connection_id: str,
        check: LastCheck,
        *,
        version: str | None = None,
        hosting: str | None = None,
    ) -> None:
        """Show a doctor run's outcome at once, and remember it in the settings file."""
        profile = self.model.profile(connection_id)
        if profile is None:
            return
        self.model.upsert(
            dataclasses.replace(
                profile,
                last_check=check,
                version=version or profile.version,
                hosting=hosting or profile.hosting,
            )
        )
        if self._store.get(connection_id) is not None:
            self._ui.tasks.start(
                self._record(connection_id, check, version, hosting), name="record check"
            )

    async def aclose(self) -> None:
        """Close an open dialog; the rest of the pane's work is the window's tasks."""
        if self.open_dialog is not None:
            self.open_dialog.done(QDialog.DialogCode.Rejected)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type: taller rows
            self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 16)

    # ---- selection and filter --------------------------------------------------------------
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet:
            return
        new_id = current.data(ID_ROLE) if current.isValid() else None
        if (
            new_id is None
            and self._selected_id
            and self.model.row_of(self._selected_id) is not None
        ):
            return  # hidden by the filter, still the connection on screen
        self._set_selected(new_id)

    def _set_selected(self, connection_id: str | None) -> None:
        if connection_id == self._selected_id:
            self._update_state()
            return
        self._selected_id = connection_id
        self.model.set_current(connection_id)
        self._update_state()
        self.selected.emit(connection_id)

    def _view_index(self, connection_id: str | None) -> QModelIndex:
        row = self.model.row_of(connection_id) if connection_id else None
        if row is None:
            return QModelIndex()
        return self.proxy.mapFromSource(self.model.index(row, 0))

    def _on_filter(self, text: str) -> None:
        self._quiet = True
        try:
            self.proxy.setFilterFixedString(text.strip())
            index = self._view_index(self._selected_id)
            if index.isValid():
                self.view.setCurrentIndex(index)
            else:
                self.view.selectionModel().clear()
        finally:
            self._quiet = False

    def _update_state(self) -> None:
        empty = self.model.rowCount() == 0
        self.stack.setCurrentWidget(self.empty_label if empty else self.view)
        self.filter_edit.setVisible(self.model.rowCount() > 5)
        current = self.model.profile(self._selected_id) if self._selected_id else None
        idle = not self._busy
        self.add_button.setEnabled(idle and self._store.writable)
        self.setup_button.setEnabled(idle and self._store.writable)
        self.edit_button.setEnabled(
            idle and current is not None and not current.demo and self._store.writable
        )
        self.remove_button.setEnabled(idle and current is not None)
        self.edit_button.setToolTip(
            "The demo connection cannot be edited." if current and current.demo else ""
        )
        self.rotate_button.setEnabled(idle and current is not None and not current.demo)
        if current is not None and current.demo:
            self.rotate_button.setToolTip("The demo's key lives in memory only.")
        else:
            warning = self.model.key_warning(current) if current is not None else None
            self.rotate_button.setToolTip(
                warning or "Give the selected connection a new API key, checked against the PBX"
            )

    # ---- banners ---------------------------------------------------------------------------
    def _render_banners(self) -> None:
        status = self._store.keyring_status
        if status.available:
            self.keyring_banner.setVisible(False)
            self.key_place.setText(f"Keys: {status.backend_name}")
        elif self._store.session_only:
            self.keyring_banner.set_kind("info")
            self.keyring_banner.text.setText(
                "Keys are held in memory for this session only: PBX Companion forgets them when "
                "it quits, so paste each key again next time.\n" + status.reason + "."
            )
            self.session_only_button.setVisible(False)
            self.keyring_banner.setVisible(True)
            self.key_place.setText("Keys: memory, this session only")
        else:
            self.keyring_banner.set_kind("warning")
            self.keyring_banner.text.setText(
                f"<b>Keys cannot be stored.</b> {_html(status.reason)}. Keys are never written to a "
                "file instead."
            )
            self.session_only_button.setVisible(True)
            self.keyring_banner.setVisible(True)
            self.key_place.setText("Keys: no keyring")

        problems = self._store.problems
        if problems and not self._settings_dismissed:
            lines = [self._ui.presenter.text(problem.message) for problem in problems]
            heading = (
                "<b>Settings were not saved this session.</b>"
                if not self._store.writable
                else "<b>There was a problem with the settings file.</b>"
            )
            self.settings_banner.text.setText(
                heading + "<br>" + "<br>".join(_html(line) for line in lines)
            )
            self.settings_banner.setVisible(True)
        else:
            self.settings_banner.setVisible(False)

    def _use_session_only(self) -> None:
        try:
            self._store.use_session_only()
        except ConnectionStoreError as exc:
            log.warning("Session-only keys refused: %s", exc.message)
        self._render_banners()

    def _dismiss_settings_problem(self) -> None:
        self._settings_dismissed = True
        self._render_banners()

    # ---- add, edit, remove -----------------------------------------------------------------
    def _start_add(self) -> None:
        if not self._busy:
            self._ui.tasks.start(self._add(), name="add connection")

    def _start_edit(self) -> None:
        current = self.model.profile(self._selected_id) if self._selected_id else None
        if not self._busy and current is not None and not current.demo:
            self._ui.tasks.start(self._edit(current.id), name="edit connection")

    def _start_remove(self) -> None:
        if not self._busy and self._selected_id is not None:
            self._ui.tasks.start(self._remove(self._selected_id), name="remove connection")

    def _start_rotate(self) -> None:
        current = self.model.profile(self._selected_id) if self._selected_id else None
        if not self._busy and current is not None and not current.demo:
            self._ui.tasks.start(self._rotate(current.id), name="rotate key")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_state()

    def _taken_names(self, except_id: str | None) -> tuple[str, ...]:
        return tuple(c.name for c in self._store.connections() if c.id != except_id)

    async def _add(self) -> None:
        self._set_busy(True)
        try:
            dialog = ConnectionDialog(
                self._ui,
                self,
                taken_names=self._taken_names(None),
                key_backend=self._store.key_backend,
                key_age_warning_days=self._store.settings.key_age_warning_days,
                submit=self._submit_add,
            )
            self.open_dialog = dialog
            result = await run_connection_dialog(dialog)
            saved = dialog.saved_profile
            if result == QDialog.DialogCode.Accepted and saved is not None:
                self.model.upsert(saved)
                self.select(saved.id)
        finally:
            self.open_dialog = None
            self._set_busy(False)

    async def _submit_add(self, profile: ConnectionProfile, key: str | None) -> ConnectionProfile:
        if key is None:
            raise ConnectionStoreError("Paste the API key.", field="secret")
        return await self._store.add(profile, key)

    async def _edit(self, connection_id: str) -> None:
        existing = self._store.get(connection_id)
        if existing is None:
            return
        self._set_busy(True)
        try:
            try:
                key_stored = await self._store.secret(connection_id) is not None
            except ConnectionStoreError as exc:
                log.warning("Could not tell whether a key is stored: %s", exc.message)
                key_stored = False
            dialog = ConnectionDialog(
                self._ui,
                self,
                existing=existing,
                taken_names=self._taken_names(connection_id),
                key_backend=self._store.key_backend,
                key_stored=key_stored,
                key_age_warning_days=self._store.settings.key_age_warning_days,
                submit=self._store.update,
            )
            self.open_dialog = dialog
            result = await run_connection_dialog(dialog)
            saved = dialog.saved_profile
            if result == QDialog.DialogCode.Accepted and saved is not None:
                self.model.upsert(saved)
                self.edited.emit(saved.id)
        finally:
            self.open_dialog = None
            self._set_busy(False)

    async def _rotate(self, connection_id: str) -> None:
        profile = self._store.get(connection_id)
        if profile is None or profile.demo:
            return
        self._set_busy(True)
        dialog = KeyRotationDialog(self._ui, self._store, profile, self)
        dialog.rotated.connect(self._on_key_rotated)
        self.open_dialog = dialog
        try:
            await run_dialog(dialog)
        finally:
            self.open_dialog = None
            dialog.deleteLater()
            self._set_busy(False)

    def _on_key_rotated(self, profile: ConnectionProfile) -> None:
        if self.model.profile(profile.id) is not None:
            self.model.upsert(profile)
        self.edited.emit(profile.id)  # the open session still holds the old key

    async def _remove(self, connection_id: str) -> None:
        profile = self.model.profile(connection_id)
        if profile is None:
            return
        self._set_busy(True)
        try:
            where = self._store.key_backend
            key_text = (
                f" Its API key is deleted from {where}." if where and not profile.demo else ""
            )
            name = self._ui.presenter.text(profile.name)
            if not await confirm(
                self,
                "Remove connection",
                f"Remove {name}?{key_text}\n\nThe PBX itself is not changed.",
                destructive="Remove",
            ):
                return
            try:
                if self._store.get(connection_id) is not None:
                    await self._store.remove(connection_id)
            except ConnectionStoreError as exc:
                await inform(self, "Connection not removed", exc.message, warning=True)
                return
            self._quiet = True
            try:
                self.model.remove(connection_id)
            finally:
                self._quiet = False
            if self._selected_id == connection_id:
                # Nothing selected: opening another customer's PBX unasked could put their
                # calls on a shared screen.
                self.select(None)
            else:
                self.view.setCurrentIndex(self._view_index(self._selected_id))
            self.removed.emit(connection_id)
        finally:
            self._set_busy(False)

    async def _record(
        self, connection_id: str, check: LastCheck, version: str | None, hosting: str | None
    ) -> None:
        try:
            saved = await self._store.record_check(
                connection_id, check, version=version, hosting=hosting
            )
        except ConnectionStoreError as exc:
            log.warning("The check result was not saved: %s", exc.message)
            return
        if self.model.profile(connection_id) is not None:
            self.model.upsert(saved)


async def run_connection_dialog(dialog: ConnectionDialog) -> int:
    try:
        return await run_dialog(dialog)
    finally:
        dialog.deleteLater()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
