"""The connections table: one row per ``ConnectionProfile``, with its status pill's look.

``ConnectionsModel`` keeps the profiles in the order they were added with an id->row index; the
view sorts and filters through a proxy. The key age column warns about a key older than the
engineer's limit; the status column carries the last doctor run for the pill delegate.

Presenter mode: every connection but the current one shows its name and customer as initials,
so a customer on a shared screen does not read the MSP's client list.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.domain.clock import utc_now
from app.domain.connection import (
    CheckStatusSummary,
    ConnectionProfile,
    LastCheck,
    key_age_text,
    key_age_warning,
)
from app.ui.presenter import Presenter
from app.ui.theme import colours

ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
SORT_ROLE: Final = Qt.ItemDataRole.UserRole + 2
STATUS_ROLE: Final = Qt.ItemDataRole.UserRole + 3

HEADERS: Final = ("Name", "Customer", "Version", "Hosting", "Region", "Key age", "Status")
NAME, CUSTOMER, VERSION, HOSTING, REGION, KEY_AGE, STATUS = range(len(HEADERS))
DEFAULT_KEY_AGE_WARNING_DAYS: Final = 180


@dataclasses.dataclass(frozen=True)
class StatusLook:
    label: str
    tint: str  # a name in ``Colours.tints``, read when painting (light or dark)
    severity: int  # for sorting: worst first when descending


STATUS_LOOKS: Final[dict[CheckStatusSummary, StatusLook]] = {
    CheckStatusSummary.NEVER: StatusLook("Not checked", "neutral", 0),
    CheckStatusSummary.PASS: StatusLook("Pass", "pass", 1),
    CheckStatusSummary.WARN: StatusLook("Warnings", "warn", 2),
    CheckStatusSummary.FAIL: StatusLook("Failing", "fail", 3),
    CheckStatusSummary.UNREACHABLE: StatusLook("Unreachable", "purple", 4),
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
            return QBrush(QColor(colours().warn)) if self.key_warning(profile) else None
        if role == Qt.ItemDataRole.ForegroundRole and column in (VERSION, HOSTING, REGION):
            # A placeholder ("—", "auto") reads quieter than a detected value.
            return None if self._display_value(profile, column) else QBrush(QColor(colours().faint))
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
        if column == HOSTING:  # a guess that came out "unknown" reads as no guess
            return profile.hosting if profile.hosting not in (None, "unknown") else "—"
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
            name = self._display(profile, NAME)
            return f"{name}\nA simulated PBX running inside PBX Companion. It is not saved."
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
