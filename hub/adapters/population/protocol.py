"""The identity-verification contract with the population database (C06), the hub's own.

``POST /v1/identities:verify`` with ``{"requests": [{"ref", "personalId", "fullName",
"birthDate"}]}`` (up to :data:`MAX_REQUESTS`) answers ``{"results": [{"ref", "result",
"fields"}]}``, one per request: MATCHED (the citizen exists and both fields agree),
MISMATCHED with the fields that differ (``fullName``, ``birthDate``), or UNKNOWN
(no citizen holds that number). A lookup changes nothing, so a request sent twice
needs no idempotency key; 5xx or no answer means ask again later.

Names are compared as the population database keeps them, in NFC, ignoring case
and repeated spaces; diacritics count (Lê is not Le).
"""

from __future__ import annotations

from typing import TypedDict

VERIFY_PATH = "/v1/identities:verify"
MAX_REQUESTS = 1_000

MATCHED = "MATCHED"
MISMATCHED = "MISMATCHED"
UNKNOWN = "UNKNOWN"

FULL_NAME = "fullName"
BIRTH_DATE = "birthDate"


class IdentityQuery(TypedDict):
    ref: str  # the hub's own reference, echoed in the result
    personalId: str
    fullName: str
    birthDate: str | None  # ISO date


class IdentityResult(TypedDict):
    ref: str
    result: str  # MATCHED | MISMATCHED | UNKNOWN
    fields: list[str]  # for MISMATCHED: which fields differ
