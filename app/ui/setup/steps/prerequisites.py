"""Step 2: what the PBX must have before a bridge can work, and what to do when it is missing.

The version floor is known from step 1; the licence, edition and recording items need the key,
so they read "checked once the key works" until step 5 proves it, and then this step checks
again by itself (its dot changes even when it is not on screen).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from app.domain.diagnosis import CheckStatus
from app.services.connections.store import ConnectionStoreError
from app.services.pbx_access import PbxClient, ThreeCXError
from app.services.setup.prerequisites import Prerequisite, check_prerequisites
from app.ui.setup.checklist import CheckList, CheckRow
from app.ui.setup.context import SetupContext
from app.ui.setup.step import SetupStep, StepStatus, bold, error_text, hint_label
from app.ui.theme import colours

# From the field docs (seeds/001): what each generation allows a bridge.
GENERATIONS_HEADER = (
    '<th align="left">Capability</th><th align="left">v18 build 11 or later</th>'
    '<th align="left">v20</th>'
)
GENERATIONS_ROWS = """
<tr><td>Call Control API access</td><td>Available</td><td>Available</td></tr>
<tr><td>Call recording fetch</td><td>Available with the right roles</td>
<td>Available with the right roles</td></tr>
<tr><td>Missed-call events</td><td>Available</td><td>Available</td></tr>
<tr><td>Call transcription</td><td>Not available from 3CX itself</td>
<td>Available on the higher tier</td></tr>
<tr><td>Long-term support</td><td>Maintenance only</td>
<td>Current, recommended for new builds</td></tr>
"""


def generations_table() -> str:
    """The table as rich text, its header row shaded in the current colours."""
    return (
        '<table cellspacing="0" cellpadding="4" style="border-collapse: collapse;">'
        f'<tr style="background:{colours().surface_alt};">{GENERATIONS_HEADER}</tr>'
        f"{GENERATIONS_ROWS}</table>"
    )


def _row(item: Prerequisite) -> CheckRow:
    """The rule's verdict and words; a warning shows its fix, as the doctor's does."""
    if not item.required and item.ok is False:
        # Nice to have (transcription): grey, with what it would take.
        return CheckRow(item.key, item.label, None, item.detail, item.what_to_do, word="Optional")
    if item.status is CheckStatus.WARN:
        return CheckRow(item.key, item.label, None, item.detail, item.what_to_do, word="Warning")
    return CheckRow(item.key, item.label, item.ok, item.detail, item.what_to_do)


def _missing(items: tuple[Prerequisite, ...]) -> list[Prerequisite]:
    return [p for p in items if p.ok is False and p.required]


def _warned(items: tuple[Prerequisite, ...]) -> list[Prerequisite]:
    return [p for p in items if p.status is CheckStatus.WARN and p.required]


class PrerequisitesStep(SetupStep):
    title = "Prerequisites"
    informational = True

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "A CRM bridge needs 3CX v18 build 11 or later (v20 preferred) on a paid annual "
            "licence with call recording enabled. Version and the API user's roles matter more "
            "than the licence tier's name.",
        )
        self.items: tuple[Prerequisite, ...] = ()
        self._with_key = False  # the items were checked with a signed-in client
        self._current = False
        self.checklist = CheckList(ctx.ui.presenter)
        self.checklist.setObjectName("prerequisites")
        self.body.addWidget(self.checklist)
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.setObjectName("prerequisitesAgain")
        self.recheck_button.clicked.connect(self.check)
        row = QHBoxLayout()
        row.addWidget(self.recheck_button)
        row.addStretch(1)
        self.body.addLayout(row)
        self.body.addWidget(bold(QLabel("What v18 and v20 each allow")))
        self.generations = QLabel(generations_table())
        self.generations.setTextFormat(Qt.TextFormat.RichText)
        self.generations.setObjectName("generationsTable")
        self.body.addWidget(self.generations)
        self.body.addWidget(
            hint_label(
                "Older than v18 build 11: upgrade 3CX first (plan about an hour of downtime and "
                "the standard 3CX upgrade procedure). Without call recording the bridge still "
                "posts call activity, without the audio link."
            )
        )
        ctx.addressChanged.connect(self._stale)
        ctx.detectionRefined.connect(self._stale)  # asked again once the PBX answers
        ctx.verified.connect(self._key_verified)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        table: QLabel | None = getattr(self, "generations", None)  # None during __init__
        if table is not None and event.type() == QEvent.Type.PaletteChange:
            table.setText(generations_table())  # the OS switched light/dark

    def _stale(self) -> None:
        self.stop_work(quietly=True)
        self._current = False
        self._with_key = False
        self.items = ()
        self.checklist.set_rows([])
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)

    def _key_verified(self) -> None:
        report = self.ctx.capabilities
        if report is not None and report.key_accepted and not self._with_key:
            self.check()

    def entered(self) -> None:
        if not self._current and not self.busy:
            self.check()

    def check(self) -> None:
        if self.ctx.detection is None:
            return
        limit = self.ctx.timeouts.verify_s
        self.start_work("Checking the prerequisites", self._check(), limit_s=limit)

    async def _check(self) -> None:
        detection = self.ctx.detection
        if detection is None:
            return
        client: PbxClient | None = None
        notice = ""
        report = self.ctx.capabilities
        if report is not None and report.key_accepted:
            try:
                client = await self.ctx.client()
            except (ThreeCXError, ConnectionStoreError) as exc:
                notice = f"Licence and recording not checked: {error_text(exc)}"
        items = await check_prerequisites(detection, client)
        self.items = tuple(items)
        self._with_key = client is not None
        self._current = True
        self.checklist.set_rows([_row(p) for p in self.items])
        failed = _missing(self.items)
        warned = _warned(self.items)
        if notice:
            self.show_message(notice, "warn")
        elif failed:
            self.show_message(
                f"{len(failed)} prerequisite{'s' if len(failed) > 1 else ''} missing: "
                + "; ".join(p.label for p in failed)
                + (". The fix is under each one." if len(failed) > 1 else ". The fix is under it."),
                "fail",
            )
        elif not self._with_key:
            self.show_message(
                "The licence and recording items are checked once the API key works (step 5).",
                "info",
            )
        elif warned:
            self.show_message(
                "Met, with something to do: "
                + "; ".join(p.label for p in warned)
                + ". The fix is under it.",
                "warn",
            )
        else:
            self.show_message("Every prerequisite is met.", "pass")
        if failed:
            self.set_status(StepStatus.FAIL)
        else:
            self.set_status(StepStatus.WARN if warned and self._with_key else StepStatus.OK)

    def summary(self) -> str:
        if not self.items:
            return "Not checked."
        failed = [p.label for p in _missing(self.items)]
        if failed:
            return "Missing: " + ", ".join(failed) + "."
        unknown = [p.label for p in self.items if p.ok is None]
        return "All met." if not unknown else "Met so far; not known: " + ", ".join(unknown) + "."

    def rerender(self) -> None:
        self.checklist.rebuild()
