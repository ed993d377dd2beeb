"""The seven causes, each a pure rule from typed facts to a verdict (app.domain.diagnosis)."""
