"""Which columns a run reads the CRM activity export by: as the engineer mapped them for that
file, else as the connection remembers them when they fit the file's headers, else detected
from the headers (None). The form reads the file and shows the dialog; this keeps the choice."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Final

from app.domain.activity_columns import ActivityColumns
from app.domain.connection import ConnectionProfile
from app.services.reconcile.activity_columns import remembered_columns
from app.services.reconcile.crm_activities import ActivitiesPreview

COLUMNS_DETECTED: Final = "CRM columns: detected from the headers."
COLUMNS_REMEMBERED: Final = "CRM columns: as mapped for this connection."
COLUMNS_CHOSEN: Final = "CRM columns: as you mapped them, for this session."


class CrmColumnsMemory:
    """The connection, the chosen export's headers (once read) and the mapping for it."""

    def __init__(self) -> None:
        self.profile: ConnectionProfile | None = None
        self._preview: tuple[Path, ActivitiesPreview] | None = None
        self._columns: tuple[Path, ActivityColumns] | None = None  # for that file only

    def set_connection(self, profile: ConnectionProfile | None) -> None:
        """Another connection: its saved mapping, not the last one's choice, applies."""
        self.profile = profile
        self._columns = None
        if self._preview is not None:
            self._apply_remembered(*self._preview)

    def preview(self, path: Path | None) -> ActivitiesPreview | None:
        """The headers and sample rows of ``path``, when they have been read."""
        if self._preview is None or self._preview[0] != path:
            return None
        return self._preview[1]

    def previewed(self, path: Path, preview: ActivitiesPreview) -> None:
        self._preview = (path, preview)
        self._apply_remembered(path, preview)

    def _apply_remembered(self, path: Path, preview: ActivitiesPreview) -> None:
        saved = self.profile.activity_columns if self.profile is not None else None
        remembered = remembered_columns(preview.headers, saved)
        if self.chosen(path) is None and remembered is not None:
            self._columns = (path, remembered)

    def chosen(self, path: Path | None) -> ActivityColumns | None:
        """The columns a run of ``path`` uses; None: detected from its headers."""
        if self._columns is None or path is None or self._columns[0] != path:
            return None
        return self._columns[1]

    def choose(self, path: Path, columns: ActivityColumns) -> ActivityColumns | None:
        """Use ``columns`` for ``path``. Returns the mapping to keep with the connection: None
        for the detection's own answer, so a later export is detected afresh."""
        self._columns = (path, columns)
        preview = self.preview(path)
        return None if preview is not None and columns == preview.detected else columns

    def kept(self, profile: ConnectionProfile) -> None:
        """The connection as saved with its new mapping (the store's answer)."""
        if self.profile is not None and self.profile.id == profile.id:
            self.profile = profile

    def kept_for_session(self, columns: ActivityColumns | None) -> None:
        """No store to keep it in: the mapping holds for this form until the app closes."""
        if self.profile is not None:
            self.profile = dataclasses.replace(self.profile, activity_columns=columns)

    def state(self, path: Path | None) -> str:
        """How the export's columns are read, in one line ("" with no export chosen)."""
        if path is None:
            return ""
        chosen = self.chosen(path)
        profile = self.profile
        saved = profile.activity_columns if profile is not None and not profile.demo else None
        if chosen is None:
            return COLUMNS_DETECTED
        return COLUMNS_REMEMBERED if chosen == saved else COLUMNS_CHOSEN
