"""Step 8: which CRM contact each of the last calls would attach to, and why not when it would not.

The contacts come from a CRM export (CSV, with a column-mapping step to correct the detected
columns) and/or the 3CX phonebook. Per call: the raw caller id, its E.164 form, and the contact
it attaches to, or why not (orphan, ambiguous, stored in a local format). One click exports the
contacts whose numbers need normalising, with their E.164 form, for the CRM to re-import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.contact_match import ContactIndex, NumberFix
from app.domain.contacts import Contact
from app.domain.phones import NumberError, validate_region
from app.services.connections import ConnectionStoreError
from app.services.contacts_import import (
    ColumnMapping,
    ContactsFileError,
    ContactsImport,
    columns_of,
    parse_contacts_csv,
    preview_contacts_csv,
    read_contacts_text,
)
from app.services.setup.contact_preview import (
    AttachPreviewRow,
    NormalisationExportError,
    preview_contact_attach,
    watch_contact_attach,
    write_normalisation_csv,
)
from app.threecx.errors import ThreeCXError
from app.ui.setup_column_mapping import ColumnMappingEditor
from app.ui.setup_context import SetupContext
from app.ui.setup_files import CSV_FILTER, FileChooser
from app.ui.setup_step import (
    FieldGrid,
    SetupStep,
    StepStatus,
    bold,
    error_text,
    hint_label,
    text_label,
)
from app.ui.setup_table import Column, ResultTableModel
from app.ui.theme import FAIL, PASS, SKIP, WARN, dot_icon

log = logging.getLogger(__name__)

OUTCOMES = {
    "attaches": ("Attaches", PASS),
    "attaches-after-normalising": ("Attaches after normalising", WARN),
    "orphan": ("Orphan (no contact)", FAIL),
    "ambiguous": ("Ambiguous", FAIL),
    "invalid-number": ("Not a phone number", SKIP),
    "internal": ("Internal call", SKIP),
}


def outcome_words(outcome: str) -> str:
    return OUTCOMES.get(outcome, (outcome, SKIP))[0]


def preview_columns(clock: Callable[[], BusinessHours]) -> tuple[Column[AttachPreviewRow], ...]:
    """The table's columns; "When" is on the customer's clock (``clock()``), zone named."""
    return (
        Column(
            "When (customer's time)",
            lambda r, p: customer_time(r.when, clock(), "%d %b %H:%M"),
            tooltip=lambda r, p: when_tooltip(r.when, clock()),
        ),
        *COLUMNS,
    )


def when_tooltip(at: datetime, hours: BusinessHours) -> str:
    """The customer's time with the zone, and the engineer's own beside it, labelled."""
    mine = at.astimezone()  # the engineer's zone, said so
    return (
        f"{customer_time(at, hours, '%a %d %b %Y %H:%M')} ({hours.timezone}, the customer's "
        f"time)\n{mine:%a %d %b %H:%M} {mine.tzname()} (your time)"
    )


COLUMNS: tuple[Column[AttachPreviewRow], ...] = (
    Column("Caller id", lambda r, p: p.number(r.raw_caller_id)),
    Column("E.164", lambda r, p: p.number(r.e164) if r.e164 else "—"),
    Column(
        "Outcome",
        lambda r, p: outcome_words(r.outcome),
        icon=lambda r: dot_icon(OUTCOMES.get(r.outcome, ("", SKIP))[1]),
    ),
    Column("Contact", lambda r, p: p.name(r.contact) if r.contact else "—"),
    Column("Why", lambda r, p: p.text(r.reason), tooltip=lambda r, p: p.text(r.reason)),
)


class ContactsStep(SetupStep):
    title = "Contact preview"
    informational = True
    grows = True

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "A bridge attaches each call to the CRM contact whose number matches the caller's, "
            "compared in E.164 (+ and the country code). Load the CRM's contact export and/or use the 3CX "
            "phonebook to see what the last calls would attach to.",
        )
        self._files = FileChooser(self)
        self._watch: asyncio.Task[None] | None = None
        self._csv: tuple[Path, str] | None = None  # the export's path and text, for re-mapping
        self.imported: ContactsImport | None = None
        self.index: ContactIndex | None = None
        self.rows: tuple[AttachPreviewRow, ...] = ()
        self._done = False

        self.phonebook_box = QCheckBox("3CX phonebook")
        self.phonebook_box.setObjectName("usePhonebook")
        self.phonebook_box.setChecked(True)
        self.phonebook_box.toggled.connect(self._sources_changed)
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

        sources = FieldGrid()
        sources.add("Contacts from:", self.phonebook_box)
        sources.add("CRM export:", csv_row, self.csv_state, self.mapping_box)
        sources.add("Preview:", run_row)
        self.body.addLayout(sources)

        columns = preview_columns(ctx.shown_hours)
        self.model: ResultTableModel[AttachPreviewRow] = ResultTableModel(
            ctx.ui.presenter, columns, parent=self
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
        ctx.keyChanged.connect(self._stale)
        ctx.addressChanged.connect(self._stale)
        ctx.hoursChanged.connect(self._hours_changed)
        self._hours_changed()

    # ---- state ---------------------------------------------------------------------------------
    def _stale(self) -> None:
        self.stop_work(quietly=True)
        self.watch_button.setChecked(False)
        self._done = False
        self.index = None
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

    def _sources_changed(self) -> None:
        self.ctx.use_phonebook = self.phonebook_box.isChecked()
        self._done = False

    def entered(self) -> None:
        detection = self.ctx.detection
        region = detection.region if detection else None
        self.region_edit.setPlaceholderText(f"{region} (PBX)" if region else "PBX's")
        if not self._done and not self.busy and self._has_source():
            self.preview()

    def _has_source(self) -> bool:
        return self.phonebook_box.isChecked() or bool(self.imported and self.imported.contacts)

    def fixes(self) -> list[NumberFix]:
        return self.index.bulk_fixes() if self.index is not None else []

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
        path, text = self._csv
        self.start_work(
            "Reading the contacts export",
            self._parse(path, text, mapping, corrected=True),
            limit_s=60.0,
        )

    def _forget_csv(self) -> None:
        self._csv = None
        self.imported = None
        self.ctx.contacts_csv = None
        self.ctx.contacts_columns = None
        self.ctx.crm_contacts = ()
        self.ctx.crm_contacts_label = None
        self.csv_state.setText("")
        self.columns_button.setChecked(False)
        self.columns_button.hide()
        self._done = False

    async def _load(self, path: Path) -> None:
        try:
            text = await asyncio.to_thread(read_contacts_text, path)
            found = await asyncio.to_thread(preview_contacts_csv, text)
        except ContactsFileError as exc:
            self._forget_csv()
            self.show_message(f"CRM export: {exc}", "fail")
            self.set_status(StepStatus.WARN)
            return
        self._csv = (path, text)
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
        await self._parse(path, text, found.detected)

    async def _parse(
        self, path: Path, text: str, mapping: ColumnMapping, *, corrected: bool = False
    ) -> None:
        try:
            imported = await asyncio.to_thread(parse_contacts_csv, text, mapping)
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
        self.ctx.ui.presenter.masker.learn_names(c.name for c in imported.contacts if c.name)
        state = (
            f"{imported.mapping.flavour} export: {len(imported.contacts)} contacts read from "
            f"{imported.rows_read} rows."
        )
        if imported.problems:
            first = imported.problems[0]
            more = len(imported.problems) - 1
            state += f" Line {first.line} skipped: {first.message}" + (
                f" (and {more} more)." if more else "."
            )
        self.csv_state.setText(state)
        # A CRM synced from the phonebook holds the same people: both would look ambiguous.
        self.phonebook_box.setChecked(False)
        self.clear_message()
        await self._preview(imported.contacts, False, self.last_n.value())

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
        contacts = self.imported.contacts if self.imported is not None else ()
        self.start_work(
            "Matching the last calls against the contacts",
            self._preview(contacts, self.phonebook_box.isChecked(), self.last_n.value()),
            limit_s=self.ctx.timeouts.preview_s,
        )

    async def _preview(self, crm: tuple[Contact, ...], phonebook: bool, last_n: int) -> None:
        try:
            client = await self.ctx.client()
            contacts = list(crm)
            if phonebook:
                book = await client.contacts()
                self.ctx.ui.presenter.masker.learn_names(c.name for c in book if c.name)
                contacts += book
            region = await self.ctx.region()
            index = await asyncio.to_thread(ContactIndex.build, contacts, region)
            rows = await preview_contact_attach(client, index, last_n=last_n, region=region)
        except (ThreeCXError, ConnectionStoreError) as exc:
            self.show_message(f"The preview could not be made: {error_text(exc)}", "warn")
            self.set_status(StepStatus.WARN)
            return
        self.index = index
        self.rows = tuple(rows)
        self._done = True
        self.watch_button.setEnabled(True)
        self.model.set_rows(self.rows)
        self._render_fixes()
        self._summarise(len(contacts))

    def _summarise(self, contact_count: int) -> None:
        if not self.rows:
            self.show_message(
                "No calls to preview yet: place a test call (or wait for the next real one), "
                "then preview again.",
                "info",
            )
            self.set_status(StepStatus.WARN)
            return
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        parts = [f"{n} {outcome_words(o).lower()}" for o, n in counts.items()]
        problems = sum(counts.get(o, 0) for o in ("orphan", "ambiguous"))
        later = counts.get("attaches-after-normalising", 0)
        text = f"{len(self.rows)} calls against {contact_count} contacts: {', '.join(parts)}."
        if later:
            text += (
                " Calls that attach only after normalising need the CRM's numbers in E.164: "
                "export the numbers to fix and re-import them."
            )
        self.show_message(text, "warn" if problems or later else "ok")
        self.set_status(StepStatus.WARN if problems or later else StepStatus.OK)

    def _render_fixes(self) -> None:
        fixes = self.fixes()
        if self.index is None:
            self.fixes_label.setText("Preview first.")
        elif fixes:
            self.fixes_label.setText(
                f"{len(fixes)} stored number{'s' if len(fixes) != 1 else ''} are in a local "
                "format (not E.164): a bridge comparing E.164 misses those contacts."
            )
        else:
            self.fixes_label.setText("Every stored number is already in E.164.")
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
        fixes = self.fixes()
        try:
            written = await asyncio.to_thread(write_normalisation_csv, fixes, path)
        except NormalisationExportError as exc:
            self.show_message(f"Not exported: {exc}", "fail")
            return 0
        self.show_message(
            f"Exported {written} number{'s' if written != 1 else ''} to fix to {path}: import it "
            "into the CRM to update those contacts' numbers to E.164.",
            "ok",
        )
        return written

    def summary(self) -> str:
        if not self._done:
            return "Not previewed."
        later = sum(1 for r in self.rows if r.outcome == "attaches-after-normalising")
        orphans = sum(1 for r in self.rows if r.outcome in ("orphan", "ambiguous"))
        attach = sum(1 for r in self.rows if r.outcome == "attaches")
        return (
            f"{len(self.rows)} calls: {attach} attach, {later} only after normalising, "
            f"{orphans} orphan or ambiguous."
        )

    # ---- live calls ----------------------------------------------------------------------------
    def _watch_toggled(self, on: bool) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if on and self.index is not None:
            self._watch = self.ctx.start(self._watch_calls(self.index), name="setup: watch calls")

    async def _watch_calls(self, index: ContactIndex) -> None:
        try:
            client = await self.ctx.client()
            async for row in watch_contact_attach(client, index, region=index.region):
                self.rows = (row, *self.rows)
                self.model.set_rows(self.rows)
                self._summarise(len(index))
        except (ThreeCXError, ConnectionStoreError) as exc:
            self.show_message(f"Live calls are not available: {error_text(exc)}", "warn")
            self.watch_button.setChecked(False)

    async def aclose(self) -> None:
        self.watch_button.setChecked(False)
        await super().aclose()
        self._files.close()
