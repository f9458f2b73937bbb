"""The public verification URL scheme, printed in every transcript's QR code.

Fixed now, before the verification page exists (issue: signatures), because
printed transcripts keep it forever: ``{base}/verify/{document_id}``.
"""


def verification_url(base_url: str, document_id: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{document_id}"
