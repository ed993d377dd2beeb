"""Step 7: every extension's and queue's recording mode, with the ones that will not record marked.

Informational: the customer decides what is recorded; the table shows which calls will reach
the CRM without audio. Numbers and names are masked in presenter mode.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView

from app.services.connections.store import ConnectionStoreError
from app.services.pbx_access import ThreeCXError
from app.services.setup.recording_audit import RecordingAuditRow, audit_recording
from app.ui.setup.context import SetupContext
from app.ui.setup.step import SetupStep, StepStatus, error_text, text_label
from app.ui.setup.table import Column, ResultTableModel
from app.ui.theme import Mark, mark_icon, set_box

COLUMNS: tuple[Column[RecordingAuditRow], ...] = (
    Column("Number", lambda r, p: p.number(r.number)),
    Column("Name", lambda r, p: p.name(r.name)),
    Column("Kind", lambda r, p: r.kind.capitalize()),
    Column("Recording mode", lambda r, p: r.mode),
    Column(
        "Records",
        lambda r, p: "Yes" if r.will_record else "No",
        icon=lambda r: mark_icon(Mark.PASS if r.will_record else Mark.FAIL),
    ),
    Column(
        "Calls without audio",
        lambda r, p: str(r.unrecorded_calls) if r.unrecorded_calls else "",
        tooltip=lambda r, p: "Answered external calls of the last days with no recording",
    ),
    Column("Why", lambda r, p: p.text(r.why), tooltip=lambda r, p: p.text(r.why)),
)


class RecordingAuditStep(SetupStep):
    title = "Recording audit"
    informational = True
    grows = True

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "Recording is set per extension and per queue. Calls on the ones marked below reach "
            "the CRM without a recording: switch recording on in the admin console (Users > "
            "the extension > Options > Recording), if the customer wants those calls recorded.",
        )
        self.rows: tuple[RecordingAuditRow, ...] = ()
        self._done = False
        self.model: ResultTableModel[RecordingAuditRow] = ResultTableModel(
            ctx.ui.presenter, COLUMNS, marked=lambda r: not r.will_record, parent=self
        )
        self.table = QTableView()
        self.table.setObjectName("recordingAudit")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(260)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.body.addWidget(self.table, 1)
        self.fix_label = text_label(object_name="auditFix")
        set_box(self.fix_label, "warn")
        self.fix_label.hide()
        self.body.addWidget(self.fix_label)
        self.table.selectionModel().currentRowChanged.connect(self._show_fix)
        self.again_button = QPushButton("Check again")
        self.again_button.setObjectName("auditAgain")
        self.again_button.clicked.connect(self.check)
        row = QHBoxLayout()
        row.addWidget(self.again_button)
        row.addStretch(1)
        self.body.addLayout(row)
        ctx.keyChanged.connect(self._stale)
        ctx.addressChanged.connect(self._stale)

    def _stale(self) -> None:
        self.stop_work(quietly=True)
        self._done = False
        self.rows = ()
        self.model.set_rows(())
        self._show_fix()
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)

    def _show_fix(self) -> None:
        """The fix for the selected row, else for the first one that will not record."""
        index = self.table.selectionModel().currentIndex()
        row = self.rows[index.row()] if index.isValid() and index.row() < len(self.rows) else None
        if row is None or row.will_record:
            off = self.not_recording()
            row = off[0] if off else None
        presenter = self.ctx.ui.presenter
        if row is None or not row.fix:
            self.fix_label.hide()
            return
        who = f"{row.kind} {presenter.number(row.number)}"
        self.fix_label.setText(f"Fix for {who}: {presenter.text(row.fix)}")
        self.fix_label.show()

    def not_recording(self) -> tuple[RecordingAuditRow, ...]:
        return tuple(r for r in self.rows if not r.will_record)

    def entered(self) -> None:
        if not self._done and not self.busy:
            self.check()

    def check(self) -> None:
        self.start_work(
            "Reading every extension's recording mode",
            self._audit(),
            limit_s=self.ctx.timeouts.audit_s,
        )

    async def _audit(self) -> None:
        try:
            rows = await audit_recording(await self.ctx.client())
        except (ThreeCXError, ConnectionStoreError) as exc:
            self.show_message(f"The recording modes could not be read: {error_text(exc)}", "warn")
            self.set_status(StepStatus.WARN)
            return
        self.rows = tuple(rows)
        self._done = True
        self.ctx.ui.presenter.masker.learn_names(r.name for r in self.rows if r.name)
        self.model.set_rows(self.rows)
        self._show_fix()
        off = self.not_recording()
        if off:
            extensions = sum(1 for r in off if r.kind == "extension")
            queues = len(off) - extensions
            parts = []
            if extensions:
                parts.append(f"{extensions} extension{'s' if extensions != 1 else ''}")
            if queues:
                parts.append(f"{queues} queue{'s' if queues != 1 else ''}")
            self.show_message(
                f"{' and '.join(parts)} will not record (marked in red): their calls reach the "
                "CRM without audio. The reason is in the last column.",
                "warn",
            )
            self.set_status(StepStatus.WARN)
        else:
            self.show_message(f"All {len(self.rows)} extensions and queues record calls.", "pass")
            self.set_status(StepStatus.OK)

    def rerender(self) -> None:
        self._show_fix()

    def summary(self) -> str:
        if not self._done:
            return "Not checked."
        off = self.not_recording()
        if off:
            return f"{len(off)} of {len(self.rows)} will not record."
        return f"All {len(self.rows)} record."
