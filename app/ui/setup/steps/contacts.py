"""Step 8: which CRM contact each of the last calls would attach to, and why not when it would not.

First the customer's bridge, in plain words: it decides the contacts searched (the CRM export,
with a column-mapping step; without one the 3CX phonebook stands in; or the 3CX phonebook for
3CX's own integration) and how numbers compare. The verdict is the doctor's cause 5, word for
word. Per call: the raw caller id, its E.164 form, and the contact it attaches to, or why not.
One click exports the numbers the bridge would miss, for the CRM to re-import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.bridge import Bridge, BridgeIndex, ContactStore, NumberMatch
from app.domain.contact_match import NumberFix
from app.domain.diagnosis import CheckStatus
from app.domain.phones import NumberError, validate_region
from app.services.connections.store import ConnectionStoreError
from app.services.contacts.crm_import import (
    ColumnMapping,
    ContactsFileError,
    ContactsImport,
    columns_of,
    preview_contacts_file,
    read_contacts_csv,
)
from app.services.pbx_access import ThreeCXError
from app.services.setup.contact_preview import (
    AttachPreviewRow,
    ContactPreview,
    NormalisationExportError,
    fix_columns,
    preview_contacts,
    watch_contact_attach,
    write_normalisation_csv,
)
from app.ui.setup.column_mapping import ColumnMappingEditor
from app.ui.setup.context import SetupContext
from app.ui.setup.files import CSV_FILTER, FileChooser
from app.ui.setup.step import (
    FieldGrid,
    SetupStep,
    StepStatus,
    bold,
    error_text,
    hint_label,
    text_label,
)
from app.ui.setup.steps.contact_columns import preview_columns
from app.ui.setup.table import Column, ResultTableModel

log = logging.getLogger(__name__)

# The verdict's status as the step shows it (an informational step: nothing here blocks Next).
VERDICT_STATUS = {
    CheckStatus.PASS: (StepStatus.OK, "pass"),
    CheckStatus.WARN: (StepStatus.WARN, "warn"),
    CheckStatus.FAIL: (StepStatus.FAIL, "fail"),
    CheckStatus.SKIP: (StepStatus.WARN, "warn"),
}
STORE_HINTS = {
    ContactStore.CRM: (
        "Matched against the CRM export below; without one, the 3CX phonebook stands in for "
        "the CRM's contacts."
    ),
    ContactStore.PHONEBOOK: (
        "Matched against the 3CX phonebook, as 3CX's phonebook settings (read from the PBX) "
        "say; a CRM export is not searched."
    ),
}


class ContactsStep(SetupStep):
    title = "Contact preview"
    informational = True
    grows = True

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "A bridge attaches each call to the contact whose number matches the caller's. Choose "
            "the customer's bridge, load the CRM's contact export, and see what the last calls "
            "would attach to: the verdict is the doctor's check 5, word for word.",
        )
        self._files = FileChooser(self)
        self._watch: asyncio.Task[None] | None = None
        # The export's path, read again (streamed) when the engineer corrects the columns.
        self._csv: Path | None = None
        self.imported: ContactsImport | None = None
        self.index: BridgeIndex | None = None
        self.rows: tuple[AttachPreviewRow, ...] = ()
        self.result: ContactPreview | None = None
        self._done = False

        self._build_bridge_choice()
        csv_row = self._build_csv_row()
        self._build_mapping(csv_row)
        run_row = self._build_run_row()
        sources = FieldGrid()
        sources.add("The customer's bridge:", self.bridge_box, self.bridge_hint)
        sources.add("CRM export:", csv_row, self.csv_state, self.mapping_box)
        sources.add("Preview:", run_row)
        self.body.addLayout(sources)
        self._build_table(preview_columns(ctx.shown_hours))
        self._build_export_row()
        ctx.keyChanged.connect(self._stale)
        ctx.addressChanged.connect(self._stale)
        ctx.hoursChanged.connect(self._hours_changed)
        self._hours_changed()

    # ---- building ------------------------------------------------------------------------------
    def _build_bridge_choice(self) -> None:
        """The bridge, asked in plain words; the hint says which contacts it searches."""
        self.bridge_box = QComboBox()
        self.bridge_box.setObjectName("bridgeChoice")
        # Short names in the list (they fit at Larger type), the whole story in the hint below.
        for match in NumberMatch:
            self.bridge_box.addItem(match.short_words, match.value)
            self.bridge_box.setItemData(
                self.bridge_box.count() - 1, match.plain_words, Qt.ItemDataRole.ToolTipRole
            )
        self.bridge_box.currentIndexChanged.connect(self._bridge_changed)
        self.bridge_hint = hint_label(object_name="bridgeHint")
        self._show_bridge_hint(self.ctx.bridge)

    def _show_bridge_hint(self, bridge: Bridge) -> None:
        self.bridge_hint.setText(f"{bridge.match.plain_words}. {STORE_HINTS[bridge.store]}")

    def _build_csv_row(self) -> QHBoxLayout:
        """The export's path, typed or browsed to, and a line saying what was read from it."""
        self.csv_edit = QLineEdit()
        self.csv_edit.setObjectName("contactsCsv")
        self.csv_edit.setPlaceholderText("Optional: the CRM's contacts export (CSV)")
        self.csv_edit.editingFinished.connect(self.load_csv)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName("contactsBrowse")
        self.browse_button.clicked.connect(self._browse_clicked)
        csv_row = QHBoxLayout()
        csv_row.addWidget(self.csv_edit, 1)
        csv_row.addWidget(self.browse_button)
        self.csv_state = hint_label(object_name="csvState")
        return csv_row

    def _build_mapping(self, csv_row: QHBoxLayout) -> None:
        """The column mapping, hidden until an export is read; its toggle ends the CSV row."""
        self.mapping_editor = ColumnMappingEditor()
        self.mapping_editor.changed.connect(self._mapping_changed)
        self.apply_mapping_button = QPushButton("Read with these columns")
        self.apply_mapping_button.setObjectName("applyMapping")
        self.apply_mapping_button.clicked.connect(self.apply_mapping)
        self.mapping_box = QWidget()
        mapping_layout = QVBoxLayout(self.mapping_box)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.addWidget(self.mapping_editor)
        apply_row = QHBoxLayout()
        apply_row.addWidget(self.apply_mapping_button)
        apply_row.addStretch(1)
        mapping_layout.addLayout(apply_row)
        self.mapping_box.hide()
        self.columns_button = QPushButton("Change columns…")
        self.columns_button.setObjectName("changeColumns")
        self.columns_button.setCheckable(True)
        self.columns_button.toggled.connect(self.mapping_box.setVisible)
        self.columns_button.hide()
        csv_row.addWidget(self.columns_button)

    def _build_run_row(self) -> QHBoxLayout:
        """How many calls, the region for local numbers, Preview, and watching live calls."""
        self.region_edit = QLineEdit()
        self.region_edit.setObjectName("previewRegion")
        self.region_edit.setMaxLength(3)
        self.region_edit.setMaximumWidth(96)
        self.region_edit.setPlaceholderText("PBX's")
        self.last_n = QSpinBox()
        self.last_n.setObjectName("lastCalls")
        self.last_n.setRange(5, 200)
        self.last_n.setValue(20)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("previewButton")
        self.preview_button.clicked.connect(self.preview)
        run_row = QHBoxLayout()
        run_row.addWidget(self.last_n)
        run_row.addWidget(QLabel("last calls;"))
        run_row.addWidget(QLabel("region for numbers without +:"))
        run_row.addWidget(self.region_edit)
        run_row.addWidget(self.preview_button)
        self.watch_button = QPushButton("Watch the next calls")
        self.watch_button.setObjectName("watchCalls")
        self.watch_button.setCheckable(True)
        self.watch_button.setToolTip(
            "Add each new call to the top of the table as it happens (place a test call now)"
        )
        self.watch_button.toggled.connect(self._watch_toggled)
        self.watch_button.setEnabled(False)
        run_row.addWidget(self.watch_button)
        run_row.addStretch(1)
        return run_row

    def _build_table(self, columns: tuple[Column[AttachPreviewRow], ...]) -> None:
        """The calls and what each attaches to, under a note naming the clock they are on."""
        self.model: ResultTableModel[AttachPreviewRow] = ResultTableModel(
            self.ctx.ui.presenter, columns, parent=self
        )
        self.zone_note = hint_label(object_name="previewZone")
        self.table = QTableView()
        self.table.setObjectName("attachPreview")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(240)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
        self.body.addWidget(self.zone_note)
        self.body.addWidget(self.table, 1)

    def _build_export_row(self) -> None:
        """How many stored numbers the bridge misses, and the button that exports them."""
        self.fixes_label = text_label(object_name="fixesCount")
        self.export_button = QPushButton("Export numbers to fix…")
        self.export_button.setObjectName("exportFixes")
        self.export_button.setToolTip(
            "A CSV of the contacts whose numbers are stored in a local format, with their "
            "E.164 form, for the CRM to re-import"
        )
        self.export_button.clicked.connect(self._export_clicked)
        self.export_button.setEnabled(False)
        export_row = QHBoxLayout()
        export_row.addWidget(self.fixes_label, 1)
        export_row.addWidget(self.export_button)
        self.body.addWidget(bold(text_label("Numbers to normalise")))
        self.body.addLayout(export_row)

    # ---- state ---------------------------------------------------------------------------------
    def _stale(self) -> None:
        self.stop_work(quietly=True)
        self.watch_button.setChecked(False)
        self._done = False
        self.index = None
        self.result = None
        self.rows = ()
        self.model.set_rows(())
        self._render_fixes()
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)

    def _hours_changed(self) -> None:
        hours = self.ctx.shown_hours()
        self.zone_note.setText(
            f"Times in {hours.timezone}, the customer's clock ({hours.source}); "
            "hover a time for yours."
        )
        self.model.refresh()

    def _bridge_changed(self) -> None:
        bridge = Bridge.for_match(NumberMatch(self.bridge_box.currentData()))
        if bridge == self.ctx.bridge:
            return
        self.ctx.bridge = bridge  # the connection keeps it (saved at Finish)
        self._show_bridge_hint(bridge)
        self._done = False
        if self.index is not None and not self.busy:
            self.preview()

    def entered(self) -> None:
        detection = self.ctx.detection
        region = detection.region if detection else None
        self.region_edit.setPlaceholderText(f"{region} (PBX)" if region else "PBX's")
        if not self._done and not self.busy:
            self.preview()

    def fixes(self) -> Collection[NumberFix]:
        """The stored numbers the bridge would miss: counted, and made only as written."""
        return self.index.fixes() if self.index is not None else ()

    # ---- the CRM export ------------------------------------------------------------------------
    def _browse_clicked(self) -> None:
        self.ctx.start(self._browse(), name="setup: choose contacts CSV")

    async def _browse(self) -> None:
        chosen = await self._files.open_file(
            "Choose the CRM's contacts export", self.csv_edit.text().strip(), CSV_FILTER
        )
        if chosen:
            self.csv_edit.setText(chosen)
            self.load_csv()

    def load_csv(self) -> None:
        path = self.csv_edit.text().strip()
        if not path:
            self._forget_csv()
            return
        if self.imported is not None and self.ctx.contacts_csv == path:
            return
        self.start_work("Reading the contacts export", self._load(Path(path)), limit_s=60.0)

    def apply_mapping(self) -> None:
        """Read the export again with the columns the engineer chose."""
        if self._csv is None:
            return
        try:
            mapping = self.mapping_editor.mapping()
        except ContactsFileError as exc:
            self.show_message(f"Columns: {exc}", "fail")
            return
        self.start_work(
            "Reading the contacts export",
            self._parse(self._csv, mapping, corrected=True),
            limit_s=60.0,
        )

    def _forget_csv(self) -> None:
        self._csv = None
        self.imported = None
        self.ctx.contacts_csv = None
        self.ctx.contacts_columns = None
        self.ctx.crm_contacts = ()
        self.ctx.crm_contacts_label = None
        self.ctx.crm_record_ids = False
        self.csv_state.setText("")
        self.columns_button.setChecked(False)
        self.columns_button.hide()
        self._done = False

    async def _load(self, path: Path) -> None:
        try:
            found = await asyncio.to_thread(preview_contacts_file, path)
        except ContactsFileError as exc:
            self._forget_csv()
            self.show_message(f"CRM export: {exc}", "fail")
            self.set_status(StepStatus.WARN)
            return
        self._csv = path
        self.imported = None
        self.mapping_editor.set_columns(found.headers, found.detected)
        self.columns_button.show()
        # Nothing detected: the mapping opens by itself, since the engineer must choose.
        self.columns_button.setChecked(found.detected is None)
        if found.detected is None:
            self.csv_state.setText(f"{path.name}: {found.problem}")
            self.show_message(
                "Choose the columns below (at least one phone column), then read the file again.",
                "warn",
            )
            self.set_status(StepStatus.WARN)
            return
        await self._parse(path, found.detected)

    async def _parse(self, path: Path, mapping: ColumnMapping, *, corrected: bool = False) -> None:
        try:
            imported = await asyncio.to_thread(read_contacts_csv, path, mapping)
        except ContactsFileError as exc:
            self.show_message(f"CRM export: {exc}", "fail")
            self.set_status(StepStatus.WARN)
            return
        self.imported = imported
        self.ctx.contacts_csv = str(path)
        # Kept with the connection, so the feed and the doctor read the file the same way.
        self.ctx.contacts_columns = columns_of(mapping) if corrected else None
        self.ctx.crm_contacts = imported.contacts
        self.ctx.crm_contacts_label = f"{path.name} ({imported.mapping.flavour})"
        self.ctx.crm_record_ids = imported.mapping.id_column is not None
        self.ctx.ui.presenter.masker.learn_names(c.name for c in imported.contacts if c.name)
        state = (
            f"{imported.mapping.flavour} export: {len(imported.contacts):,} contacts read from "
            f"{imported.rows_read:,} rows."
        )
        summary = imported.problem_summary()
        if summary is not None:
            first = imported.problems[0] if imported.problems else None
            state += f" {summary}"
            if first is not None:
                state += f" Line {first.line}: {first.message}."
        self.csv_state.setText(state)
        self.clear_message()
        await self._preview(self.last_n.value())

    def _mapping_changed(self) -> None:
        problem = self.mapping_editor.problem()
        self.apply_mapping_button.setEnabled(problem is None)
        self.apply_mapping_button.setToolTip(problem or "")

    # ---- the preview ---------------------------------------------------------------------------
    def _region_choice(self) -> str | None:
        text = self.region_edit.text().strip()
        if not text:
            return None
        return validate_region(text)

    def preview(self) -> None:
        try:
            region = self._region_choice()
        except NumberError as exc:
            self.show_message(f"Region: {exc}.", "fail")
            return
        self.ctx.region_override = region
        self.start_work(
            "Matching the last calls against the contacts",
            self._preview(self.last_n.value()),
            limit_s=self.ctx.timeouts.preview_s,
        )

    async def _preview(self, last_n: int) -> None:
        try:
            client = await self.ctx.client()
            result = await preview_contacts(client, self.ctx.doctor_options(), last_n=last_n)
        except (ThreeCXError, ConnectionStoreError) as exc:
            self.show_message(f"The preview could not be made: {error_text(exc)}", "warn")
            self.set_status(StepStatus.WARN)
            return
        searched = result.facts.searched
        if searched.store is ContactStore.PHONEBOOK:
            self.ctx.ui.presenter.masker.learn_names(c.name for c in searched.contacts if c.name)
        self.result = result
        self.index = result.index
        self.rows = result.rows
        self._done = True
        self.watch_button.setEnabled(self.index is not None)
        self.model.set_rows(self.rows)
        self._render_fixes()
        self._summarise()

    def _summarise(self) -> None:
        """The doctor's verdict on check 5, in its words: finding, then the fix."""
        if self.result is None:
            return
        verdict = self.result.verdict
        status, tone = VERDICT_STATUS[verdict.status]
        text = verdict.finding
        if verdict.fix and verdict.status is not CheckStatus.PASS:
            text += f"\n\nFix: {verdict.fix}"
        self.show_message(text, tone)
        self.set_status(status)

    def _render_fixes(self) -> None:
        fixes = len(self.fixes())
        many = fixes != 1
        if self.index is None:
            self.fixes_label.setText("Preview first.")
        elif fixes and self.index.bridge.match is NumberMatch.E164:
            self.fixes_label.setText(
                f"{fixes:,} stored number{'s are' if many else ' is'} in a local format "
                "(not E.164): a bridge comparing E.164 misses those contacts."
            )
        elif fixes:
            self.fixes_label.setText(
                f"{fixes:,} stored number{'s are' if many else ' is'} in a form this bridge "
                "misses: stored in E.164, they match."
            )
        else:
            self.fixes_label.setText("Every stored number matches as this bridge compares.")
        self.export_button.setEnabled(bool(fixes))

    # ---- export --------------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        self.ctx.start(self._export_chosen(), name="setup: export numbers to fix")

    async def _export_chosen(self) -> None:
        suggested = f"{self.ctx.host or 'pbx'}-numbers-to-fix.csv"
        chosen = await self._files.save_file(
            "Export the numbers to fix", suggested, CSV_FILTER, "csv"
        )
        if chosen:
            await self.export_fixes(Path(chosen))

    async def export_fixes(self, path: Path) -> int:
        """Write the normalisation CSV to ``path``; returns the rows written (0 on failure)."""
        fixes = self.fixes()  # streamed into the file: all of them, never held
        columns = fix_columns(self._searched_store(), self._mapping())
        try:
            written = await asyncio.to_thread(write_normalisation_csv, fixes, path, columns)
        except NormalisationExportError as exc:
            self.show_message(f"Not exported: {exc}", "fail")
            return 0
        text = (
            f"Exported {written} number{'s' if written != 1 else ''} to fix to {path}: import it "
            "into the CRM to update those contacts' numbers to E.164"
        )
        if columns.record_id or columns.email:
            found_by = " and ".join(repr(c) for c in (columns.record_id, columns.email) if c)
            text += f", matching the records by {found_by}."
        else:
            text += (
                ". The export has no record id or email column, so the CRM cannot find the "
                "records by itself: export the contacts again with the record id column."
            )
        self.show_message(text, "pass" if columns.record_id or columns.email else "warn")
        return written

    def _searched_store(self) -> ContactStore:
        return self.result.facts.searched.store if self.result else ContactStore.CRM

    def _mapping(self) -> ColumnMapping | None:
        return self.imported.mapping if self.imported is not None else None

    def summary(self) -> str:
        if not self._done or self.result is None:
            return "Not previewed."
        return self.result.verdict.finding

    # ---- live calls ----------------------------------------------------------------------------
    def _watch_toggled(self, on: bool) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if on and self.index is not None:
            self._watch = self.ctx.start(self._watch_calls(self.index), name="setup: watch calls")

    async def _watch_calls(self, index: BridgeIndex) -> None:
        try:
            client = await self.ctx.client()
            async for row in watch_contact_attach(client, index, region=index.region):
                self.rows = (row, *self.rows)
                self.model.set_rows(self.rows)
        except (ThreeCXError, ConnectionStoreError) as exc:
            self.show_message(f"Live calls are not available: {error_text(exc)}", "warn")
            self.watch_button.setChecked(False)

    async def aclose(self) -> None:
        self.watch_button.setChecked(False)
        await super().aclose()
        self._files.close()
