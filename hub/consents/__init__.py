"""Consent for admission services to read pupils' transcripts (issue 11)."""
