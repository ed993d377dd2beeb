"""What a finished reconciliation can be written to: the support pack (one masked zip for a
ticket) and the ledger report (PDF, HTML or JSON, by the file's suffix).

The save chooser opens without a nested event loop (``run_dialog``); every write runs in a
worker thread. The PDF is laid out by Qt, which only the GUI thread may do: the report's
worker hands each page layout back to the GUI loop and waits for it (``GuiThreadPdf``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from app.domain.business_hours import BusinessHours
from app.domain.clock import utc_now
from app.domain.diagnosis import Diagnosis
from app.services.reconcile.ledger_store_compare import Comparison
from app.services.reconcile.run import ReconcileResult
from app.services.reconcile.support_pack import SupportPack, write_support_pack
from app.services.reports.export import SUFFIXES, PdfRenderer, ReportFormat
from app.services.reports.meta import report_meta
from app.services.session import PbxSession
from app.services.settings.file import Settings
from app.ui.dialogs import confirm, run_dialog
from app.ui.reports.pdf import render_pdf

PACK_FILTER = "Zip archives (*.zip)"
# What each file in the pack is, in the engineer's words.
PACK_PARTS = {
    "versions.json": "versions",
    "ledger.json": "ledger",
    "doctor.json": "doctor result",
    "setup-report.html": "setup report",
    "app.log": "app log",
}


# ---- asking where ------------------------------------------------------------------------------
class SaveChooser:
    """One save dialog for its owner's life (deleting a non-native file dialog while its
    watcher thread still reports is a crash waiting), opened with ``open()`` and awaited."""

    def __init__(self, owner: QWidget, opened: Callable[[QFileDialog], None]) -> None:
        self._owner = owner
        self._opened = opened
        self._dialog: QFileDialog | None = None

    def _chooser(self) -> QFileDialog:
        if self._dialog is None:
            dialog = QFileDialog(self._owner)
            dialog.setObjectName("reconcileSaveDialog")
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
            # Asked below with confirm(): Qt's own question would run a nested event loop.
            dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
            self._dialog = dialog
        return self._dialog

    async def ask(
        self, title: str, suggested: Path, filters: list[str], suffix: str
    ) -> tuple[Path, str] | None:
        """The path chosen and the name filter it was chosen under; None when cancelled."""
        chooser = self._chooser()
        chooser.setWindowTitle(title)
        chooser.setNameFilters(filters)
        chooser.selectNameFilter(filters[0])
        chooser.setDefaultSuffix(suffix)
        chooser.setDirectory(str(suggested.parent))
        chooser.selectFile(suggested.name)
        self._opened(chooser)
        try:
            accepted = await run_dialog(chooser) == QDialog.DialogCode.Accepted
        finally:
            self.close()  # cancelled while open: the dialog goes with the task
        chosen = chooser.selectedFiles()
        if not accepted or not chosen:
            return None
        path = Path(chosen[0])
        if await asyncio.to_thread(path.exists) and not await confirm(
            self._owner,
            "Replace file?",
            f"{path.name} already exists in that folder. Replace it?",
            destructive="Replace",
        ):
            return None
        return path, chooser.selectedNameFilter()

    def close(self) -> None:
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.reject()


def report_filters() -> list[str]:
    return [fmt.name_filter for fmt in ReportFormat]


def report_path(path: Path, name_filter: str) -> Path:
    """``path`` with a report suffix: the one typed, else the chosen filter's format's."""
    if path.suffix.lower() in SUFFIXES:
        return path
    fmt = next((f for f in ReportFormat if f.name_filter == name_filter), ReportFormat.PDF)
    return path.with_name(path.name + fmt.suffix)


def pack_path(path: Path) -> Path:
    return path if path.suffix.lower() == ".zip" else path.with_name(path.name + ".zip")


def pack_contents(pack: SupportPack) -> str:
    return ", ".join(PACK_PARTS.get(name, name) for name in pack.files)


# ---- the support pack --------------------------------------------------------------------------
async def diagnose_for_pack(session: PbxSession) -> Diagnosis:
    """The doctor's seven checks, as ``reconcile --support-pack`` runs them (a few seconds)."""
    from app.services.doctor import Doctor  # the doctor's checks load only when asked for
    from app.services.facts.connection_options import options_for_connection

    built = await options_for_connection(session.profile)
    return await Doctor(session.params, session.secret, built.options).run()


async def write_pack(
    path: Path,
    *,
    result: ReconcileResult,
    session: PbxSession,
    diagnosis: Diagnosis | None,
    settings: Settings,
) -> SupportPack:
    """Write the masked zip off the GUI loop; ``SupportPackError`` says why it was not."""
    from app.services.logs.buffer import log_file_path

    meta = report_meta(settings, session.profile, presenter_mode=True, now=utc_now())
    return await asyncio.to_thread(
        write_support_pack,
        path,
        ledger=result.ledger,
        diagnosis=diagnosis,
        meta=meta,
        log_file=log_file_path(),
        secrets=(session.secret,),
        now=utc_now(),
    )


# ---- the ledger report -------------------------------------------------------------------------
class GuiThreadPdf:
    """``render_pdf`` for a worker thread: each call runs on the GUI loop, the worker waits.

    ``cancel()`` (the task awaiting the worker was cancelled) releases a worker still waiting,
    so no thread is left blocked on a loop that will not answer.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, render: PdfRenderer = render_pdf) -> None:
        self._loop = loop
        self._render = render
        self._pending: set[concurrent.futures.Future[bytes]] = set()
        self._lock = threading.Lock()

    def __call__(self, html: str, *, footer: str, title: str) -> bytes:
        done: concurrent.futures.Future[bytes] = concurrent.futures.Future()
        with self._lock:
            self._pending.add(done)

        def on_gui_thread() -> None:
            if not done.set_running_or_notify_cancel():
                return  # cancelled before the loop got to it
            try:
                done.set_result(self._render(html, footer=footer, title=title))
            except Exception as exc:  # the worker raises it, as a direct call would
                done.set_exception(exc)

        try:
            self._loop.call_soon_threadsafe(on_gui_thread)
            return done.result()
        finally:
            with self._lock:
                self._pending.discard(done)

    def cancel(self) -> None:
        with self._lock:
            for done in self._pending:
                done.cancel()


async def write_report(
    path: Path,
    *,
    result: ReconcileResult,
    hours: BusinessHours,
    masked: bool,
    customer: str,
    comparison: Comparison | None,
    secrets: tuple[str, ...],
    logo: str | None,
) -> Path:
    """The ledger report by ``path``'s suffix, written off the GUI loop (its PDF laid out on
    the GUI thread); ``ReportExportError`` says why it was not."""
    from app.services.reconcile.ledger_report import write_ledger_report

    pdf = GuiThreadPdf(asyncio.get_running_loop())
    try:
        return await asyncio.to_thread(
            write_ledger_report,
            result,
            path,
            hours=hours,
            masked=masked,
            customer=customer,
            comparison=comparison,
            pdf_renderer=pdf,
            secrets=secrets,
            logo=logo,
        )
    except asyncio.CancelledError:
        pdf.cancel()
        raise
