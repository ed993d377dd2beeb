"""The CRM activity export's columns, as the contacts import maps its own: the detection's
guess preselected (and marked), the first rows to check it against, and why the mapping cannot
be used yet while a required role is left unmapped.

Non-blocking: ``open()`` and ``accepted``, then ``columns()``. The sample rows are the
customer's: numbers and names in them are masked while presenting.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.activity_columns import ActivityColumns
from app.services.reconcile.crm_activities import ActivitiesPreview
from app.ui.presenter import Presenter
from app.ui.theme import set_tone
from app.ui.widgets.column_roles import ColumnRole, ColumnRolesEditor
from app.ui.widgets.dialog_fit import grow_to_fit

# The roles ActivityColumns defines; the six the issue names first, the alternatives after.
ACTIVITY_ROLES = (
    ColumnRole("time", "Time:", "mapTime", "When the call happened: date and time in one column"),
    ColumnRole("phone", "Phone number:", "mapPhone", "The other party's number"),
    ColumnRole("direction", "Direction:", "mapDirection", "Inbound or outbound"),
    ColumnRole("contact", "Contact:", "mapContact", "The contact the call was logged on"),
    ColumnRole("recording", "Recording link:", "mapRecording", "The call recording's link"),
    ColumnRole("call_id", "Call id:", "mapCallId", "3CX's call id, as the bridge wrote it"),
    ColumnRole("notes", "Notes:", "mapNotes", "Searched for a call id when there is no call id"),
    ColumnRole("date", "Or date:", "mapDate", "The date, when the time of day is apart"),
    ColumnRole("clock", "And time of day:", "mapClock", "The time of day, beside the date"),
    ColumnRole("from_number", "Or from number:", "mapFrom", "The caller's number"),
    ColumnRole("to_number", "And to number:", "mapTo", "The called number"),
    ColumnRole("kind", "Activity type:", "mapKind", "Call, task, SMS or email"),
    ColumnRole("new_contact", "New contact:", "mapNewContact", "Whether the call made a contact"),
)
DAY_FIRST = (
    ("As the region writes them", None),
    ("Day first (03/04 is 3 April)", True),
    ("Month first (03/04 is March 4)", False),
)
CLOCK_WITHOUT_DATE = (
    "The time of day needs its date column too (or choose the one Time column instead)."
)


class ActivityColumnsDialog(QDialog):
    """Which column of the export holds each role; OK only when the mapping can be used."""

    def __init__(
        self,
        path: Path,
        preview: ActivitiesPreview,
        chosen: ActivityColumns,
        presenter: Presenter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("activityColumnsDialog")
        self.setWindowTitle("CRM activity columns")
        self._preview = preview
        self._presenter = presenter
        intro = QLabel(
            f"Which column of the {preview.flavour} export holds what. The detected guess is "
            "chosen and marked; correct any that is wrong. A call is found by its call id, or "
            "by its time and phone number."
        )
        intro.setWordWrap(True)
        self.file_label = QLabel()
        self.file_label.setObjectName("activityColumnsFile")
        set_tone(self.file_label, "muted")
        self._file = path.name
        self.editor = ColumnRolesEditor(ACTIVITY_ROLES, columns=2)
        self.day_first = QComboBox()
        self.day_first.setObjectName("mapDayFirst")
        for text, value in DAY_FIRST:
            self.day_first.addItem(text, value)
        self.message = QLabel()
        self.message.setObjectName("activityColumnsProblem")
        self.message.setWordWrap(True)
        set_tone(self.message, "fail")
        self.samples = self._sample_table()
        self.detect_button = QPushButton("Detect again")
        self.detect_button.setObjectName("activityColumnsDetect")
        self.detect_button.clicked.connect(self.use_detected)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use these columns")
        self.ok_button.setObjectName("activityColumnsOk")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._lay_out(intro)
        self.editor.changed.connect(self._render)
        self.day_first.currentIndexChanged.connect(self._render)
        presenter.changed.connect(self._render)
        self.set_columns(chosen)
        self.resize(900, self.sizeHint().height())

    def _lay_out(self, intro: QLabel) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.file_label)
        layout.addWidget(self.editor)
        dates = QHBoxLayout()
        dates.addWidget(QLabel("Dates like 03/04:"))
        dates.addWidget(self.day_first)
        dates.addStretch(1)
        layout.addLayout(dates)
        layout.addWidget(self.message)
        layout.addWidget(QLabel("The first rows of the file:"))
        layout.addWidget(self.samples, 1)
        row = QHBoxLayout()
        row.addWidget(self.detect_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)

    def _sample_table(self) -> QTableWidget:
        table = QTableWidget(len(self._preview.sample_rows), len(self._preview.headers))
        table.setObjectName("activitySamples")
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.verticalHeader().setVisible(False)
        table.setWordWrap(False)
        return table

    def _fit_samples(self) -> None:
        """Tall enough for every sample row under the two-line headers, and the scroll bar."""
        table = self.samples
        rows = max(table.rowCount(), 1) * table.verticalHeader().defaultSectionSize()
        header = table.horizontalHeader().sizeHint().height()
        bar = table.horizontalScrollBar().sizeHint().height()
        table.setMinimumHeight(header + rows + bar + 2 * table.frameWidth())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        grow_to_fit(self)  # the wrapped intro and message need more at Larger type

    # ---- the mapping -----------------------------------------------------------------------
    def set_columns(self, columns: ActivityColumns) -> None:
        chosen = {key: columns.headers().get(key) for key in self.editor.combos}
        detected = {key: self._preview.detected.headers().get(key) for key in self.editor.combos}
        self.editor.offer(self._preview.headers, chosen, detected)
        self.day_first.setCurrentIndex(max(self.day_first.findData(columns.day_first), 0))
        self._render()

    def use_detected(self) -> None:
        self.set_columns(self._preview.detected)

    def columns(self) -> ActivityColumns:
        """The mapping as chosen (check ``problem()`` first)."""
        day_first = self.day_first.currentData()
        return ActivityColumns(
            **self.editor.chosen_all(), day_first=day_first if isinstance(day_first, bool) else None
        )

    def problem(self) -> str | None:
        """Why the chosen columns cannot be used, naming the role left unmapped; None: fine."""
        columns = self.columns()
        if columns.clock is not None and columns.date is None and columns.time is None:
            return CLOCK_WITHOUT_DATE
        return columns.missing()

    # ---- rendering -------------------------------------------------------------------------
    def _render(self, *_: object) -> None:
        problem = self.problem()
        self.message.setText(problem or "")
        self.message.setVisible(problem is not None)
        self.ok_button.setEnabled(problem is None)
        self.ok_button.setToolTip(problem or "")
        grow_to_fit(self)  # a message just shown takes room (nothing happens while hidden)
        # A file's name can name the customer: hidden while presenting, as the form's paths.
        shown = "The chosen file" if self._presenter.enabled else self._file
        self.file_label.setText(
            f"{shown}: {len(self._preview.headers)} columns; the role each is mapped to is "
            "named above it below."
        )
        self._render_samples()

    def _render_samples(self) -> None:
        roles = {header: key for key, header in self.columns().headers().items()}
        labels = {role.key: role.label.rstrip(":") for role in ACTIVITY_ROLES}
        table = self.samples
        table.setHorizontalHeaderLabels(
            [f"{labels[roles[h]]}\n{h}" if h in roles else f"\n{h}" for h in self._preview.headers]
        )
        # Names sit in the contact column as chosen, or as detected when the choice is wrong.
        contacts = {self.columns().contact, self._preview.detected.contact} - {None}
        for r, row in enumerate(self._preview.sample_rows):
            for c, header in enumerate(self._preview.headers):
                cell = row[c] if c < len(row) else ""
                shown = (
                    self._presenter.name(cell) if header in contacts else self._presenter.text(cell)
                )
                item = QTableWidgetItem(shown)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        self._fit_samples()
