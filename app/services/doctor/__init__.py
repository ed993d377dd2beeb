"""The doctor: the seven causes of a missing CRM recording, checked against a live PBX.

The facts it judges are gathered in ``app.services.facts`` (its options included); the checks
here turn them into results through the domain's rules.
"""

from app.services.doctor.runner import Doctor

__all__ = ["Doctor"]
