"""Who a setup report is from, for whom, and whether it is masked.

The one place that reads the report preferences (your name, your MSP's logo, "mask numbers and
names") for every report the app builds: the Doctor tab's export and the guided setup's.
"""

from __future__ import annotations

from datetime import datetime

from app import __version__
from app.domain.connection import ConnectionProfile
from app.domain.report import ReportMeta
from app.services.settings.file import Settings


def report_meta(
    settings: Settings, profile: ConnectionProfile, *, presenter_mode: bool, now: datetime
) -> ReportMeta:
    return ReportMeta(
        generated_at=now,
        customer=profile.customer,
        connection=profile.name,
        engineer=settings.engineer_name,
        app_version=__version__,
        logo=settings.logo_path,
        # Presenter mode on screen masks the report as well: the customer may be watching.
        mask=settings.masks_report_details or presenter_mode,
    )
