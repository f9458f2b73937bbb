"""Dramatiq actors for bulk work (signing batches, national sync, migrations)."""
