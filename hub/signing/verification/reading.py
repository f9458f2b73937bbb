"""Take a file from anyone apart without letting it hurt (RULES.md §5).

A file to verify may be damaged or hostile. It is read only when it is no larger
than :data:`MAX_DOCUMENT`, in a small pool of threads of its own, for at most
:data:`READ_SECONDS`; the format readers (:mod:`.pdf_reader`, :mod:`.xml_reader`)
refuse what a transcript never is. Whatever happens, :func:`read_untrusted`
answers with what it found or the one reason the file could not be read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from hub.signing.verification.report import (
    DocumentRejected,
    ExtractedSignature,
    Reason,
    ReasonCode,
    reason,
)

#: Not structlog: ``hub verify --json`` prints the verdict on stdout, where structlog
#: writes; the standard logger writes warnings to stderr until the server configures it.
log = logging.getLogger(__name__)
T = TypeVar("T")


def document_kind(document: bytes) -> str:
    """ "pdf" or "xml", by the first bytes."""
    head = document[:1024].lstrip()[:5]
    if head.startswith(b"%PDF"):
        return "pdf"
    return "xml"


#: Largest file verification reads: a transcript PDF is well under 1 MB. The HTTP
#: endpoint and ``verifyDocument`` stop reading at this size too.
MAX_DOCUMENT = 10 * 1024 * 1024
#: How long reading one file may take before it is answered INDETERMINATE. The limits
#: of the readers (nesting, objects, revisions, signatures, decoded bytes) keep a read
#: far below this; the timeout is what a reader not yet foreseen runs into.
READ_SECONDS = 20.0
#: Files read at the same time by one process; more wait their turn (and their timeout).
READERS = 2

_readers: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """Reading is CPU work on bytes from anyone: it runs off the event loop, in a small
    pool of its own, so hostile files cannot take the threads rendering or signing uses."""
    global _readers
    if _readers is None:
        _readers = ThreadPoolExecutor(READERS, thread_name_prefix="hub-verify")
    return _readers


async def bounded(work: Callable[[], T], *, seconds: float | None = None) -> T:
    """``work()`` in a verification thread, awaited at most ``seconds`` (TimeoutError).

    A thread cannot be stopped: on timeout it runs on to its end in the background,
    which the readers' limits keep short; the caller has its answer meanwhile.
    """
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(
        loop.run_in_executor(_executor(), work), READ_SECONDS if seconds is None else seconds
    )


def read_document(kind: str, document: bytes) -> tuple[list[ExtractedSignature], list[str]]:
    """The format reader for ``kind``; raises :class:`DocumentRejected` (or worse)."""
    if kind == "pdf":
        from hub.signing.verification.pdf_reader import read_pdf

        return read_pdf(document)
    from hub.signing.verification.xml_reader import read_xml

    return read_xml(document)


_Read = tuple[str, list[ExtractedSignature], list[str], Reason | None]


async def read_untrusted(document: bytes, *, seconds: float | None = None) -> _Read:
    """Take ``document`` apart without letting it hurt: (kind, signatures, problems,
    refusal). ``refusal`` is the one reason given when the file as a whole could not
    be read (too large, empty, damaged, too complex, too slow); nothing raises."""
    kind = document_kind(document)

    def refused(code: ReasonCode, **details: str) -> _Read:
        return kind, [], [], reason(code, **details)

    if len(document) > MAX_DOCUMENT:
        return refused(ReasonCode.DOCUMENT_TOO_LARGE, limit=f"{MAX_DOCUMENT:,}".replace(",", "."))
    if not document.strip():
        return refused(
            ReasonCode.DOCUMENT_MALFORMED, detail="tệp rỗng", detail_en="the file is empty"
        )
    try:
        signatures, problems = await bounded(
            functools.partial(read_document, kind, document), seconds=seconds
        )
    except DocumentRejected as rejected:
        return kind, [], [], rejected.reason()
    except TimeoutError:
        log.warning("verify.timeout: kind=%s size=%s", kind, len(document))
        return refused(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            detail="không đọc xong trong thời gian cho phép",
            detail_en="it could not be read in the time allowed",
        )
    except (RecursionError, MemoryError) as error:
        log.warning("verify.too_complex: kind=%s error=%s", kind, type(error).__name__)
        return refused(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            detail="cấu trúc lồng nhau quá sâu hoặc quá lớn",
            detail_en="structures nested too deeply or too large",
        )
    except Exception:
        # A file hostile in a way the readers do not foresee, or a bug: the traceback is
        # for the server log; the person verifying gets the stable code.
        log.exception("verify.unexpected: kind=%s size=%s", kind, len(document))
        return refused(
            ReasonCode.DOCUMENT_MALFORMED,
            detail="cấu trúc tệp không đọc được",
            detail_en="its structure cannot be read",
        )
    return kind, signatures, problems, None
