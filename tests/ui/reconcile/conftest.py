"""The Reconcile tab's screenshots share the fit tests' wide display (one Xvfb per module); its
pane tests share the simulator playing a customer's bridge and CRM (``played``)."""

from tests.ui.feed.test_fit_screens import wide_display  # noqa: F401 (a fixture, re-exported)
from tests.ui.reconcile.test_pane import played  # noqa: F401 (a fixture, re-exported)
