"""Signing providers: one interface (``base``), one folder per provider with its simulator."""
