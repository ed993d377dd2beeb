"""Recordings: find a call's recording and play it."""
