"""The population database's (C06) contract with the hub, the hub's own: identities and
family relationships.

**Identities.** ``POST /v1/identities:verify`` with ``{"requests": [{"ref", "personalId",
"fullName", "birthDate"}]}`` (up to :data:`MAX_REQUESTS`) answers ``{"results": [{"ref",
"result", "fields"}]}``, one per request: MATCHED (the citizen exists and both fields
agree), MISMATCHED with the fields that differ (``fullName``, ``birthDate``), or UNKNOWN
(no citizen holds that number).

**Family relationships** (issue 11: a guardian ↔ pupil link is verified by the
population database, never by a vendor's say-so). ``POST /v1/relationships:verify`` with
``{"requests": [{"ref", "childPersonalId", "guardianPersonalId", "relation"}]}`` (up to
:data:`MAX_REQUESTS`; ``relation`` is FATHER, MOTHER or GUARDIAN — :data:`RELATIONS`)
answers ``{"results": [{"ref", "result"}]}``, one per request: MATCHED (the database
records that relation between the two citizens), MISMATCHED (both citizens exist but
that relation is not recorded between them, or a different one is) or UNKNOWN (one of
the two numbers is no citizen's). :data:`UNREACHABLE` is never on the wire: it is what
the hub's client reports for every request of a batch that got no answer.

A lookup changes nothing, so a request sent twice needs no idempotency key; 5xx or no
answer means ask again later.

Names are compared as the population database keeps them, in NFC, ignoring case
and repeated spaces; diacritics count (Lê is not Le).
"""

from __future__ import annotations

from typing import TypedDict

VERIFY_PATH = "/v1/identities:verify"
RELATIONSHIPS_PATH = "/v1/relationships:verify"
MAX_REQUESTS = 1_000

MATCHED = "MATCHED"
MISMATCHED = "MISMATCHED"
UNKNOWN = "UNKNOWN"
#: The hub client's own answer for a request the database did not answer (never sent).
UNREACHABLE = "UNREACHABLE"

FULL_NAME = "fullName"
BIRTH_DATE = "birthDate"

#: The relations the population database records between a child and an adult.
FATHER = "FATHER"
MOTHER = "MOTHER"
GUARDIAN = "GUARDIAN"  # người giám hộ
RELATIONS = (FATHER, MOTHER, GUARDIAN)


class IdentityQuery(TypedDict):
    ref: str  # the hub's own reference, echoed in the result
    personalId: str
    fullName: str
    birthDate: str | None  # ISO date


class IdentityResult(TypedDict):
    ref: str
    result: str  # MATCHED | MISMATCHED | UNKNOWN
    fields: list[str]  # for MISMATCHED: which fields differ


class RelationshipQuery(TypedDict):
    ref: str  # the hub's own reference, echoed in the result
    childPersonalId: str
    guardianPersonalId: str
    relation: str  # one of RELATIONS


class RelationshipResult(TypedDict):
    ref: str
    result: str  # MATCHED | MISMATCHED | UNKNOWN
