"""Verifying a signed transcript, XML or PDF: one module for each thing it decides.

- :mod:`.report`: what a verification says — the verdict, each signature's report,
  the reasons with their stable codes and messages (the reason table);
- :mod:`.reading`: taking a file from anyone apart safely (size, threads, time),
  through :mod:`.pdf_reader` and :mod:`.xml_reader`, which read signatures out of a
  file and decide nothing about trust;
- :mod:`.rules`: what makes a signature VALID, INVALID or INDETERMINATE;
- :mod:`.records`: a transcript's signers checked against the school's records.

The trust store (roots, OCSP, CRL) is :mod:`hub.signing.trust`, shared with signing.

The functions of :mod:`.records` are loaded on first use: they need the database
models, which ``hub verify`` (a file and a trust store, nothing else) never loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.signing.verification.reading import MAX_DOCUMENT, document_kind
from hub.signing.verification.report import (
    Reason,
    ReasonCode,
    SignatureReport,
    Verdict,
    VerificationResult,
    as_json,
)
from hub.signing.verification.rules import ExpectedSigners, verify_document

if TYPE_CHECKING:
    from hub.signing.verification.records import (
        expected_signers,
        verify_stored,
        verify_transcript,
        verify_upload,
    )

_RECORDS = frozenset({"expected_signers", "verify_stored", "verify_transcript", "verify_upload"})


def __getattr__(name: str) -> Any:
    if name in _RECORDS:
        from hub.signing.verification import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_DOCUMENT",
    "ExpectedSigners",
    "Reason",
    "ReasonCode",
    "SignatureReport",
    "Verdict",
    "VerificationResult",
    "as_json",
    "document_kind",
    "expected_signers",
    "verify_document",
    "verify_stored",
    "verify_transcript",
    "verify_upload",
]
