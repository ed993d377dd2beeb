"""The fleet: every saved PBX checked in one sweep, and what changed since its last good run."""
