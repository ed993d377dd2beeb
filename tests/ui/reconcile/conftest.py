"""The Reconcile tab's screenshots share the fit tests' wide display (one Xvfb per module)."""

from tests.ui.feed.test_fit_screens import wide_display  # noqa: F401 (a fixture, re-exported)
