"""The missed-call trigger preview."""
