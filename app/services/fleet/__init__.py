"""The fleet: every saved connection's doctor run at once, its history, and what changed."""
