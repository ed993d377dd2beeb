"""The desktop Fleet view: every saved connection at once (issue 22)."""
