"""Step 9: name the connection, see what was verified, save it; then offer the setup report.

Saving writes the profile to the settings file (no secret in it) and keeps the key that is
already in the keyring. The setup report runs the doctor on the new connection and opens the
usual report preview, where the engineer picks PDF, HTML or JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton

from app.domain.business_hours import BusinessHours
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.report import Report
from app.services.connections.store import (
    FIELD_LABELS,
    ConnectionStoreError,
    InvalidConnectionError,
    last_check_of,
)
from app.services.doctor import Doctor
from app.services.reports.meta import report_meta
from app.ui.dialogs import run_dialog
from app.ui.reports.dialog import ReportPreviewDialog
from app.ui.setup.context import SetupContext
from app.ui.setup.step import (
    FieldGrid,
    SetupStep,
    StepStatus,
    bold,
    hint_label,
    status_icon,
    text_label,
)
from app.ui.theme import set_box, set_tone
from app.ui.widgets.presenter_fields import hide_while_presenting

log = logging.getLogger(__name__)

Summaries = Callable[[], list[tuple[str, StepStatus, str]]]


class FinishStep(SetupStep):
    title = "Finish"
    saved = Signal()

    def __init__(self, ctx: SetupContext, summaries: Summaries) -> None:
        super().__init__(
            ctx,
            "Give the connection a name the team will recognise, check what was verified, and "
            "save it. The key stays in the OS keyring; the settings file never holds it.",
        )
        self._summaries = summaries
        self.profile: ConnectionProfile | None = None
        self.report_dialog: ReportPreviewDialog | None = None

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("connectionName")
        self.name_edit.textEdited.connect(self._edited)
        self.name_error = self._error_label("error_name")
        self.customer_edit = QLineEdit()
        self.customer_edit.setObjectName("connectionCustomer")
        self.customer_edit.setPlaceholderText("The customer's company")
        form = FieldGrid()
        hide_while_presenting(self.ctx.ui.presenter, self.name_edit, self.customer_edit)
        form.add("Name:", self.name_edit, self.name_error)
        form.add("Customer:", self.customer_edit)
        self.body.addLayout(form)

        self.body.addWidget(bold(QLabel("What was verified")))
        self.verified_grid = QGridLayout()
        self.verified_grid.setHorizontalSpacing(10)
        self.verified_grid.setVerticalSpacing(4)
        self.verified_grid.setColumnStretch(2, 1)
        self.body.addLayout(self.verified_grid)
        self.waived_warning = text_label(object_name="waivedWarning")
        set_box(self.waived_warning, "fail")
        self.waived_warning.hide()
        self.body.addWidget(self.waived_warning)

        self.save_button = QPushButton("Save connection")
        self.save_button.setObjectName("saveConnection")
        self.save_button.clicked.connect(self.save)
        self.report_button = QPushButton("Create setup report…")
        self.report_button.setObjectName("setupReport")
        self.report_button.setToolTip(
            "Runs the doctor on the new connection, then shows the report to save as PDF, "
            "HTML or JSON"
        )
        self.report_button.clicked.connect(self._report_clicked)
        self.report_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.report_button)
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        self.after_save = hint_label(object_name="afterSave")
        self.after_save.hide()
        self.body.addWidget(self.after_save)

    @staticmethod
    def _error_label(name: str) -> QLabel:
        label = text_label(object_name=name)
        set_tone(label, "fail")
        label.hide()
        return label

    # ---- hooks ---------------------------------------------------------------------------------
    def must_haves_met(self) -> bool:
        return self.ctx.saved

    def entered(self) -> None:
        if not self.name_edit.text().strip():
            self.name_edit.setText(self.ctx.suggested_name())
        self.rerender()

    def rerender(self) -> None:
        presenter = self.ctx.ui.presenter
        while self.verified_grid.count():
            item = self.verified_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for row, (title, status, summary) in enumerate(self._summaries()):
            mark = QLabel()
            mark.setPixmap(status_icon(status).pixmap(14, 14))
            top = Qt.AlignmentFlag.AlignTop
            self.verified_grid.addWidget(mark, row, 0, top)
            self.verified_grid.addWidget(bold(QLabel(f"{row + 1}. {title}")), row, 1, top)
            self.verified_grid.addWidget(text_label(presenter.text(summary)), row, 2, top)
        waived = self.ctx.capabilities_waived and not self.ctx.capabilities_green
        self.waived_warning.setText(
            "Not both capabilities are proven (step 5): a bridge with this key will miss what "
            "failed there. Saving anyway keeps the key; verify again after fixing the role."
            if waived
            else ""
        )
        self.waived_warning.setVisible(waived)
        saved = self.ctx.saved
        self.save_button.setText("Save anyway" if waived else "Save connection")
        self.save_button.setVisible(not saved)
        self.save_button.setEnabled(not saved and not self.busy)
        self.name_edit.setReadOnly(saved)
        self.customer_edit.setReadOnly(saved)
        self.report_button.setVisible(saved)

    def _edited(self) -> None:
        self.name_error.hide()

    # ---- saving --------------------------------------------------------------------------------
    def build_profile(self) -> ConnectionProfile:
        ctx = self.ctx
        detection = ctx.detection
        if detection is None:
            raise ConnectionStoreError("Enter the PBX address first (step 1).", field="url")
        version = (ctx.capabilities.version if ctx.capabilities else None) or detection.version
        return ConnectionProfile(
            id=ctx.connection_id,
            name=self.name_edit.text(),
            url=detection.url,
            client_id=ctx.client_id,
            customer=self.customer_edit.text(),
            version=version,
            hosting=detection.hosting if detection.hosting != "unknown" else None,
            region=ctx.region_override,
            ca_file=ctx.ca_file,
            pin_sha256=ctx.pin_sha256,
            contacts_csv=ctx.contacts_csv,
            contacts_columns=ctx.contacts_columns,
            bridge=ctx.bridge,
            # As confirmed or changed at step 5 (breaks and holidays read from the PBX kept).
            business_hours=ctx.customer_hours or BusinessHours(),
        )

    def save(self) -> None:
        if self.ctx.saved or self.busy:
            return
        self.name_error.hide()
        try:
            profile = self.build_profile()
        except ConnectionStoreError as exc:
            self.show_message(exc.message, "fail")
            return
        self.start_work("Saving the connection", self._save(profile), limit_s=30.0)

    async def _save(self, profile: ConnectionProfile) -> None:
        try:
            saved = await self.ctx.store.add(profile, None)
        except InvalidConnectionError as exc:
            self._show_problems(exc.problems)
            self.set_status(StepStatus.FAIL)
            return
        except ConnectionStoreError as exc:
            self.show_message(f"Not saved: {exc.message}", "fail")
            self.set_status(StepStatus.FAIL)
            return
        self.profile = saved
        self.ctx.saved = True
        backend = self.ctx.store.key_backend or "the keyring"
        self.show_message(
            f"Saved as {saved.name}. The key is in {backend}; the settings file holds no "
            "secret. Create the setup report for the customer, or press Done.",
            "pass",
        )
        self.after_save.setText(
            "The report runs the doctor's seven checks on the new connection first (a few seconds)."
        )
        self.after_save.show()
        self.set_status(StepStatus.OK)
        self.rerender()
        self.saved.emit()

    def _show_problems(self, problems: dict[str, str]) -> None:
        name = problems.pop("name", None)
        if name is not None:
            self.name_error.setText(name)
            self.name_error.show()
        if problems:
            text = " ".join(f"{FIELD_LABELS.get(f, f)}: {m}" for f, m in problems.items())
            self.show_message(f"Not saved. {text}", "fail")
        else:
            self.clear_message()

    def work_failed(self) -> None:
        self.set_status(StepStatus.OK if self.ctx.saved else StepStatus.FAIL)
        self.rerender()

    # ---- the setup report ----------------------------------------------------------------------
    def _report_clicked(self) -> None:
        self.create_report()

    def create_report(self) -> None:
        if not self.ctx.saved or self.busy:
            return
        self.start_work(
            "Running the doctor for the setup report",
            self._report(),
            limit_s=self.ctx.timeouts.doctor_s,
        )

    async def _report(self) -> None:
        ctx = self.ctx
        store = ctx.store
        try:
            session = await store.open_session(ctx.connection_id)
        except ConnectionStoreError as exc:
            self.show_message(f"No report: {exc.message}", "fail")
            self.set_status(StepStatus.OK)
            return
        try:
            # The options step 8's preview used: the report says what the preview said.
            options = replace(ctx.doctor_options(), business_hours=session.profile.business_hours)
            diagnosis = await Doctor(session.params, session.secret, options).run()
            secret = session.secret
        finally:
            await session.aclose()
        try:
            await store.record_check(
                ctx.connection_id,
                last_check_of(diagnosis),
                version=diagnosis.pbx.version,
                hosting=diagnosis.pbx.hosting,
            )
        except ConnectionStoreError as exc:
            log.warning("The doctor's result was not saved: %s", exc.message)
        profile = store.get(ctx.connection_id) or self.profile
        assert profile is not None
        meta = report_meta(
            store.settings, profile, presenter_mode=ctx.ui.presenter.enabled, now=utc_now()
        )
        dialog = ReportPreviewDialog(self, Report.build(diagnosis, meta), ctx.ui, secrets=(secret,))
        del secret
        self.report_dialog = dialog
        self.show_message(f"Doctor: {last_check_of(diagnosis).summary}", "pass")
        self.set_status(StepStatus.OK)
        # The dialog is awaited outside the time limit of the doctor run.
        ctx.start(self._show_report(dialog), name="setup: report preview")

    async def _show_report(self, dialog: ReportPreviewDialog) -> None:
        try:
            await run_dialog(dialog)
        finally:
            self.report_dialog = None
            dialog.deleteLater()

    async def aclose(self) -> None:
        await super().aclose()
        if self.report_dialog is not None:
            self.report_dialog.reject()
