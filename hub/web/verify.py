"""Public verification (no sign-in): the QR code's page and the upload form.

``GET /verify/{documentId}`` is where a transcript's QR code points: anyone holding
the paper checks the hub's copy. ``POST /verify`` verifies a file someone holds (a
transcript's XML or PDF, as the raw body or as the form's ``file``). Both answer
JSON to programs (the default, unchanged since issue 5) and a page to browsers
(``Accept`` preferring ``text/html``): the verdict in large plain words, who signed
in which role and when, each reason with its stable code in Vietnamese and English
and, for the hub's copy, what the paper says, so the holder can compare the two.

The page names the pupil, as the paper in the holder's hands does, but never their
personal ID in full (:func:`hub.domain.personal_data.mask_personal_id`). The JSON
answer names the signers and the verdict, not the student.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any

import structlog
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.db import models
from hub.documents.content import TranscriptContent
from hub.documents.xml.transcript import TranscriptXmlError, parse_xml
from hub.domain.personal_data import mask_personal_id
from hub.domain.problems import MESSAGES, Code
from hub.schema.signing import MAX_UPLOAD
from hub.signing.verification import Verdict, as_json, verify_document
from hub.signing.verification.reading import bounded
from hub.signing.verification.records import document_id_of, verify_stored
from hub.web.pages import problem_page, render
from hub.web.services import HubServices

log = structlog.get_logger()

#: Vietnam keeps one offset all year: times on the page are the holder's local time.
VIETNAM = timezone(timedelta(hours=7))
#: Finding an uploaded file's document id (to link the hub's copy) may take this long.
ID_SECONDS = 5.0
NOT_CONFIGURED = "Chưa cấu hình xác thực chữ ký số."
#: Where a page about verification sends the reader next: the upload form.
ANOTHER_FILE = ("/verify", "verify.check_another")


def wants_html(request: Request) -> bool:
    """Whether the client prefers a page to JSON: a browser says so in ``Accept``;
    a program sending ``*/*`` or nothing gets JSON, as before the page existed."""
    accept = request.headers.get("accept", "")
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def _quality(accept: str, media: str) -> float:
    """The q-value ``accept`` gives ``media``, from its most specific matching range."""
    kind = media.split("/")[0]
    best, specificity = 0.0, -1
    for part in accept.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        pattern = pieces[0].lower()
        rank = {media: 2, f"{kind}/*": 1, "*/*": 0}.get(pattern)
        if rank is None or rank < specificity:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best, specificity = quality, rank
    return best


def combined(verdicts: list[str]) -> str:
    """One word for several documents: the worst of their verdicts."""
    for verdict in (Verdict.INVALID, Verdict.INDETERMINATE):
        if verdict.value in verdicts:
            return verdict.value
    return Verdict.VALID.value


def shown(value: object) -> str:
    """A result as the paper prints it: a score with one decimal, a level's label."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.1'))}"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, StrEnum) and hasattr(value, "label"):
        return str(value.label)
    return str(value)


def signed_when(signature: dict[str, Any]) -> tuple[str | None, bool]:
    """When a signature was made, in Vietnam's time, and whether a timestamp proves it."""
    proven = signature.get("timestamp_time")
    moment = proven or signature.get("claimed_time")
    if not isinstance(moment, str):
        return None, False
    at = datetime.fromisoformat(moment)
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(VIETNAM)
    return at.strftime("%d/%m/%Y %H:%M (UTC+7)"), proven is not None


def signature_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A verification result's signatures, each with when it was made (:func:`signed_when`)."""
    rows = []
    for signature in result["signatures"]:
        when, proven = signed_when(signature)
        rows.append({**signature, "when": when, "proven": proven})
    return rows


def readable_content(xml: bytes | None) -> TranscriptContent | None:
    """What a stored transcript's XML says, or None (logged) if it cannot be read."""
    try:
        return parse_xml(xml or b"")
    except TranscriptXmlError:
        log.warning("transcript.content_unreadable", exc_info=True)
        return None


def verdict_page(
    request: Request,
    *,
    results: list[dict[str, Any]],
    status: int = 200,
    **context: Any,
) -> Response:
    """The verdict page: one or both documents' results, their signers and reasons."""
    signed = next((r for r in results if r["kind"] == "pdf"), results[0])
    return render(
        request,
        "verify.html",
        status,
        verdict=combined([r["verdict"] for r in results]),
        results=results,
        signatures=signature_rows(signed),
        shown=shown,
        **context,
    )


def _problem(code: Code, status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code.value, "message": message or MESSAGES[code]}, status_code=status
    )


def verify_routes(hub: HubServices) -> list[Route]:
    """The public verification routes: the QR code's page, the upload form and its answer."""

    def unavailable(request: Request) -> Response:
        if wants_html(request):
            return problem_page(
                request, Code.PROVIDER_UNAVAILABLE, 503, link=ANOTHER_FILE, provider="—"
            )
        return _problem(Code.PROVIDER_UNAVAILABLE, 503, NOT_CONFIGURED)

    async def stored(request: Request) -> Response:
        """The QR code's target: anyone holding a transcript checks the hub's copy."""
        if hub.signing is None:
            return unavailable(request)
        document_id = request.path_params["document_id"]
        async with hub.db.unit_of_work() as session:
            found = await verify_stored(session, trust=hub.signing.trust, document_id=document_id)
            if found is not None and wants_html(request):
                transcript = await session.scalar(
                    select(models.Transcript).where(models.Transcript.document_id == document_id)
                )
                assert transcript is not None  # verify_stored has just found it
                current = None
                if not transcript.is_current:
                    current = await session.scalar(
                        select(models.Transcript.document_id).where(
                            models.Transcript.student_id == transcript.student_id,
                            models.Transcript.school_year_id == transcript.school_year_id,
                            models.Transcript.is_current.is_(True),
                        )
                    )
                xml = transcript.xml
        if found is None:
            if wants_html(request):
                return problem_page(request, Code.TRANSCRIPT_NOT_FOUND, 404, link=ANOTHER_FILE)
            return _problem(Code.TRANSCRIPT_NOT_FOUND, 404)
        if not wants_html(request):
            return JSONResponse(found)
        content = readable_content(xml)
        return verdict_page(
            request,
            results=[found["xml"], found["pdf"]],  # type: ignore[list-item]
            stored=found,
            current=current,
            content=content,
            personal_id=mask_personal_id(content.student.personal_id) if content else None,
        )

    async def verify_form(request: Request) -> Response:
        """The upload form: choose a transcript's PDF or XML file and check it."""
        return render(request, "verify_form.html")

    async def verify_upload(request: Request) -> Response:
        """Verify a file anyone holds (a transcript XML or PDF, at most 10 MB): the raw
        body (programs) or the form's ``file`` (the upload form)."""
        if hub.signing is None:
            return unavailable(request)
        html = wants_html(request)
        name = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1, max_fields=4) as form:
                upload = form.get("file")
                if not isinstance(upload, UploadFile) or not upload.filename:
                    return render(request, "verify_form.html", 400, missing=True)
                name = upload.filename
                body = await upload.read(MAX_UPLOAD + 1)
        else:
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_UPLOAD:
                    break
        if len(body) > MAX_UPLOAD:
            if html:
                return problem_page(
                    request, Code.INVALID_ARGUMENT, 413, link=ANOTHER_FILE, detail="> 10 MB"
                )
            return _problem(Code.INVALID_ARGUMENT, 413, "Tệp lớn hơn 10 MB.")
        result = as_json(await verify_document(body, trust=hub.signing.trust))
        if not html:
            return JSONResponse(result)
        return verdict_page(request, results=[result], filename=name, known=await known_copy(body))

    async def known_copy(document: bytes) -> str | None:
        """The document id of an uploaded file when the hub holds that transcript."""
        try:
            document_id = await bounded(partial(document_id_of, document), seconds=ID_SECONDS)
        except Exception:  # too slow, or hostile in a new way: the verdict stands alone
            log.warning("verify.document_id_unreadable", exc_info=True)
            return None
        if document_id is None:
            return None
        async with hub.db.sessions() as session:
            held = await session.scalar(
                select(models.Transcript.id).where(models.Transcript.document_id == document_id)
            )
        return document_id if held is not None else None

    return [
        Route("/verify", verify_form, methods=["GET"]),
        Route("/verify", verify_upload, methods=["POST"]),
        Route("/verify/{document_id}", stored),
    ]
