"""The doctor: the seven causes of a missing CRM recording, checked against a live PBX."""

from app.services.doctor.options import DoctorOptions
from app.services.doctor.runner import Doctor

__all__ = ["Doctor", "DoctorOptions"]
