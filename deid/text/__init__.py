"""Free text: find the names and identifiers no header states (engine and gate share the
vocabulary in :mod:`deid.text.vocabulary`; each keeps its own decisions)."""
