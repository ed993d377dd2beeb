"""The Recordings tab's status of a call decides what the ledger thinks the PBX holds."""

from __future__ import annotations

import pytest

from app.domain.reconcile.records import PbxRecording
from app.services.reconcile.pbx_calls import _RECORDING
from app.services.recordings.results import RecordingStatus


def test_every_status_the_recordings_tab_can_give_has_a_meaning_for_the_ledger() -> None:
    assert set(_RECORDING) == set(RecordingStatus)


@pytest.mark.parametrize(
    ("status", "held"),
    [
        (RecordingStatus.MISSING, PbxRecording.LOST),  # not "unknown": the file is gone
        (RecordingStatus.DELETED_BY_RETENTION, PbxRecording.DELETED),
        (RecordingStatus.NOT_RECORDED, PbxRecording.NOT_RECORDED),
        (RecordingStatus.PENDING, PbxRecording.PRESENT),
        (RecordingStatus.NO_ACCESS, PbxRecording.UNKNOWN),
    ],
)
def test_a_status_maps_to_what_the_pbx_holds(status: RecordingStatus, held: PbxRecording) -> None:
    assert _RECORDING[status] is held
