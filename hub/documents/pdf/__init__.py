"""The transcript as a PDF in the paper layout, ready for PAdES signing.

``render_pdf(content, xml=...)`` is the one entry point; the page furniture it
uses (fonts, signature fields, QR code, attachment) lives in :mod:`.layout`.
"""

from hub.documents.pdf.layout import ATTACHMENT_MIME_TYPE, ATTACHMENT_NAME, QR_FORM_NAME
from hub.documents.pdf.render import render_pdf

__all__ = ["ATTACHMENT_MIME_TYPE", "ATTACHMENT_NAME", "QR_FORM_NAME", "render_pdf"]
