"""The instant every test's clock starts at, unless a test pins another one.

Wednesday 18 November 2026, 11:00 in Adelaide (the simulated customer's zone): mid-week, in
business hours, weeks away from the simulated office's holidays. Tests get the same weekday
and hour on any day the suite runs, in any zone.
"""

from __future__ import annotations

from datetime import UTC, datetime

PINNED_START = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
