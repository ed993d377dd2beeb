"""The app's own log: where it goes, redacted, and the bounded buffer the log pane shows."""
