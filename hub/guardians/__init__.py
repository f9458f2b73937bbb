"""Guardian ↔ pupil links verified by the population database or in person (issue 11)."""
