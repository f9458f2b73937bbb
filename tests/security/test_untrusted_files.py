"""Verifying a file anyone uploads: whatever it holds, the answer is a verdict.

A PDF nested 1,000 deep once answered 500 at ``POST /verify`` (RecursionError) and
raw exception text through ``verifyDocument``. Every hostile or broken file here —
deep nesting, reference loops, truncation, random bytes, entity tricks, an empty
file, and mutations of a real signed transcript — must come back as INVALID or
INDETERMINATE with a stable reason code, through the function itself, through
``POST /verify`` and through the GraphQL ``verifyDocument``, and never with Python's
words (exception names, tracebacks, object addresses) in the answer.
"""

import asyncio
import json
import random
import time
import zlib
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hub.adapters.signing.pki import DemoPKI
from hub.documents import samples
from hub.domain.enums import OrgLevel
from hub.domain.signers import SIGNING_ORDER
from hub.signing.trust import TrustStore
from hub.signing.verification import MAX_DOCUMENT, ReasonCode, Verdict, reading, verify_document
from tests import signing_support as support
from tests.helpers import data, register, token_for
from tests.signing_support import school_signers, sign_in_turn

NAMESPACE = "urn:vn:hub:hocba:transcript:1.0"
#: What must never reach the person verifying: Python's own words.
LEAKS = ("Traceback", "Error", "Exception", "object at 0x", 'File "', "RecursionError")
REFUSALS = {
    ReasonCode.DOCUMENT_MALFORMED,
    ReasonCode.DOCUMENT_TOO_COMPLEX,
    ReasonCode.DOCUMENT_TOO_LARGE,
    ReasonCode.FORMAT_INVALID,
}
VERIFY_DOCUMENT = """mutation($f: Upload!) { verifyDocument(file: $f) {
  kind verdict documentId signatures { verdict reasons { code message messageEn } }
  reasons { code message messageEn signature } } }"""


# --- Building hostile files --------------------------------------------------------------


def pdf_of(*objects: bytes, root: int = 1, size: int | None = None) -> bytes:
    """A classic PDF (xref table) of ``objects``, numbered from 1."""
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (size or len(objects) + 1, root)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return out


PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


def catalog_with(extra: bytes) -> bytes:
    return pdf_of(b"<< /Type /Catalog /Pages 2 0 R " + extra + b" >>", PAGES)


def nested_arrays(depth: int) -> bytes:
    return catalog_with(b"/X " + b"[" * depth + b"]" * depth)


def nested_dictionaries(depth: int) -> bytes:
    return catalog_with(b"/X " + b"<< /A " * depth + b"1" + b" >>" * depth)


def nested_fields(depth: int) -> bytes:
    """The nesting where pyHanko must look: the signature fields."""
    return catalog_with(b"/AcroForm << /Fields " + b"[" * depth + b"]" * depth + b" >>")


def stream(dictionary: bytes, content: bytes) -> bytes:
    return dictionary[:-2] + b" /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def zip_bomb_attachment() -> bytes:
    """The transcript.xml attachment (what verifyDocument reads for the document id)
    inflating 64 MiB of zeros from about 64 KiB."""
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)
    return pdf_of(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names "
        b"[(transcript.xml) 3 0 R] >> >> >>",
        PAGES,
        b"<< /Type /Filespec /F (transcript.xml) /EF << /F 4 0 R >> >>",
        stream(b"<< /Type /EmbeddedFile /Filter /FlateDecode >>", bomb),
    )


def many_signature_fields(count: int) -> bytes:
    fields = [
        b"<< /FT /Sig /T (F%d) /V << /Type /Sig /Filter /Adobe.PPKLite "
        b"/SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00> >> >>" % n
        for n in range(count)
    ]
    references = b" ".join(b"%d 0 R" % (n + 3) for n in range(count))
    return pdf_of(
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [" + references + b"] >> >>",
        PAGES,
        *fields,
    )


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE transcript [' + "".join(entities) + "]>\n"
        f'<transcript xmlns="{NAMESPACE}">&lol9;</transcript>'
    ).encode()


def external_entity(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE transcript [<!ENTITY x SYSTEM "{url}">]>\n'
        f'<transcript xmlns="{NAMESPACE}" documentId="&x;"><content>&x;</content></transcript>'
    ).encode()


def external_dtd(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE transcript SYSTEM "{url}">\n'
        f'<transcript xmlns="{NAMESPACE}"><content>&secret;</content></transcript>'
    ).encode()


def nested_xml(depth: int) -> bytes:
    return (
        f'<transcript xmlns="{NAMESPACE}">'.encode()
        + b"<a>" * depth
        + b"</a>" * depth
        + (b"</transcript>")
    )


# --- Fixtures ----------------------------------------------------------------------------

trust = support.trust
verifier = support.verifier


@pytest.fixture(scope="module")
async def token(db, verifier) -> str:  # type: ignore[no-untyped-def]
    return await token_for(verifier, *await register(db, org=OrgLevel.DEPARTMENT))


@pytest.fixture(scope="module")
async def signed(pki: DemoPKI) -> dict[str, bytes]:
    """A real transcript, XML and PDF, signed by its three signers (B-T)."""
    from hub.transcripts.service import render

    xml, pdf = await render(samples.secondary(31))
    turns = list(zip(SIGNING_ORDER, school_signers(pki), strict=True))
    return {
        "xml": await sign_in_turn(xml, turns, pki.timestamper),
        "pdf": await sign_in_turn(pdf, turns, pki.timestamper),
    }


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xxe") / "secret.txt"
    path.write_text("HUB-SECRET-7f3a9c")
    (path.parent / "evil.dtd").write_text(f'<!ENTITY secret SYSTEM "file://{path}">')
    return path


# --- Checking the answers ----------------------------------------------------------------


def assert_no_leak(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} in the answer: {text[:2000]}"


async def over_http(verifier: httpx.AsyncClient, document: bytes) -> dict:
    response = await verifier.post("/verify", content=document)
    assert response.status_code == 200, response.text[:2000]
    assert_no_leak(response.text)
    return response.json()


async def over_graphql(verifier: httpx.AsyncClient, token: str, document: bytes) -> dict:
    operations = {"query": VERIFY_DOCUMENT, "variables": {"f": None}}
    response = await verifier.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("hocba", document, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text[:2000]
    assert_no_leak(response.text)
    return data(response.json())["verifyDocument"]


async def assert_refused(
    document: bytes,
    trust: TrustStore,
    verifier: httpx.AsyncClient,
    token: str,
    *,
    code: ReasonCode,
    verdict: Verdict,
) -> None:
    """The same refusal from the function, POST /verify and verifyDocument."""
    result = await verify_document(document, trust=trust)
    assert [r.code for r in result.reasons] == [code], [r.message_en for r in result.reasons]
    assert result.verdict is verdict
    reason = result.reasons[0]
    assert reason.message != reason.message_en  # Vietnamese and English
    assert_no_leak(reason.message + reason.message_en)
    answer = await over_http(verifier, document)
    assert (answer["verdict"], [r["code"] for r in answer["reasons"]]) == (verdict, [code])
    answer = await over_graphql(verifier, token, document)
    assert (answer["verdict"], [r["code"] for r in answer["reasons"]]) == (verdict, [code])


TOO_COMPLEX = {"code": ReasonCode.DOCUMENT_TOO_COMPLEX, "verdict": Verdict.INDETERMINATE}
MALFORMED = {"code": ReasonCode.DOCUMENT_MALFORMED, "verdict": Verdict.INVALID}


# --- PDF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("build", [nested_arrays, nested_dictionaries, nested_fields])
async def test_deeply_nested_pdf_objects_are_too_complex(
    build, depth, trust, verifier, token
) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    await assert_refused(build(depth), trust, verifier, token, **TOO_COMPLEX)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "document",
    [
        # 3 0 obj is a reference to itself; the AcroForm is it.
        catalog_with(b"/AcroForm 3 0 R") + b"",
        pdf_of(b"<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R >>", PAGES, b"3 0 R"),
        pdf_of(b"<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R >>", PAGES, b"4 0 R", b"3 0 R"),
        pdf_of(b"1 0 R"),
    ],
    ids=["dangling", "self", "cycle", "root-is-itself"],
)
async def test_pdf_reference_loops_get_a_verdict(document, trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    result = await verify_document(document, trust=trust)
    assert result.verdict in (Verdict.INVALID, Verdict.INDETERMINATE)
    assert {r.code for r in result.reasons} <= REFUSALS | {ReasonCode.NOT_SIGNED}
    answer = await over_http(verifier, document)
    assert answer["verdict"] == result.verdict
    answer = await over_graphql(verifier, token, document)
    assert answer["verdict"] == result.verdict


async def test_a_loop_in_the_signature_fields_is_refused(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    looped = pdf_of(b"<< /Type /Catalog /Pages 2 0 R /AcroForm 3 0 R >>", PAGES, b"4 0 R", b"3 0 R")
    await assert_refused(looped, trust, verifier, token, **TOO_COMPLEX)


async def test_a_truncated_signed_pdf_is_malformed(signed, trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    pdf = signed["pdf"]
    await assert_refused(pdf[: len(pdf) // 2], trust, verifier, token, **MALFORMED)


async def test_random_bytes_are_malformed(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    noise = random.Random(7).randbytes(20_000)
    await assert_refused(noise, trust, verifier, token, **MALFORMED)
    await assert_refused(b"%PDF-1.7\n" + noise, trust, verifier, token, **MALFORMED)


async def test_an_empty_file_is_malformed(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    await assert_refused(b"", trust, verifier, token, **MALFORMED)
    await assert_refused(b" \n\t ", trust, verifier, token, **MALFORMED)


async def test_more_signature_fields_than_a_transcript_has_are_refused(
    trust, verifier, token
) -> None:  # type: ignore[no-untyped-def]
    await assert_refused(many_signature_fields(40), trust, verifier, token, **TOO_COMPLEX)


def many_pages(count: int) -> bytes:
    """A catalog whose page tree claims ``count`` pages (each a real page object)."""
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(count))
    pages = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    return pdf_of(b"<< /Type /Catalog /Pages 2 0 R >>", pages, *([page] * count))


async def test_more_pages_than_a_transcript_has_are_refused(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    """The page limit read an unresolved reference and never applied (found by mypy)."""
    await assert_refused(many_pages(60), trust, verifier, token, **TOO_COMPLEX)


async def test_a_compressed_bomb_is_not_inflated(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    bomb = zip_bomb_attachment()
    started = time.monotonic()
    result = await verify_document(bomb, trust=trust)
    assert result.verdict is Verdict.INVALID  # no signature at all
    await over_http(verifier, bomb)
    answer = await over_graphql(verifier, token, bomb)  # reads the attachment for the id
    assert answer["documentId"] is None
    assert time.monotonic() - started < 20


# --- XML ---------------------------------------------------------------------------------


async def test_billion_laughs_are_not_expanded(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    # libxml2 counts the amplification even without expanding anything.
    await assert_refused(billion_laughs(), trust, verifier, token, **TOO_COMPLEX)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("target", ["secret", "passwd", "dtd"])
async def test_external_entities_are_never_read(
    target, secret_file, trust, verifier, token
) -> None:  # type: ignore[no-untyped-def]
    document = {
        "secret": external_entity(f"file://{secret_file}"),
        "passwd": external_entity("file:///etc/passwd"),
        "dtd": external_dtd(f"file://{secret_file.parent / 'evil.dtd'}"),
    }[target]
    await assert_refused(document, trust, verifier, token, **MALFORMED)
    for answer in (
        await over_http(verifier, document),
        await over_graphql(verifier, token, document),
    ):
        text = json.dumps(answer)
        assert "HUB-SECRET" not in text and "root:" not in text, text


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deeply_nested_xml_is_too_complex(depth, trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    await assert_refused(nested_xml(depth), trust, verifier, token, **TOO_COMPLEX)


async def test_a_truncated_signed_xml_is_malformed(signed, trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    xml = signed["xml"]
    await assert_refused(xml[: len(xml) // 2], trust, verifier, token, **MALFORMED)


async def test_more_signatures_than_a_transcript_has_are_refused(
    signed, trust, verifier, token
) -> None:  # type: ignore[no-untyped-def]
    xml = signed["xml"]
    start = xml.index(b"<ds:Signature")
    end = xml.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    closing = xml.rindex(b"</transcript>")
    padded = xml[:closing] + xml[start:end] * 20 + xml[closing:]
    await assert_refused(padded, trust, verifier, token, **TOO_COMPLEX)


# --- Size and time -----------------------------------------------------------------------


async def test_a_file_over_the_limit_is_not_read(trust, verifier, token) -> None:  # type: ignore[no-untyped-def]
    huge = b"%PDF-1.7\n" + b"0" * MAX_DOCUMENT
    result = await verify_document(huge, trust=trust)
    assert [r.code for r in result.reasons] == [ReasonCode.DOCUMENT_TOO_LARGE]
    assert result.verdict is Verdict.INDETERMINATE
    response = await verifier.post("/verify", content=huge)
    assert response.status_code in (200, 413), response.text[:500]
    assert_no_leak(response.text)


async def test_a_reader_that_runs_away_is_answered_in_time(monkeypatch, trust) -> None:  # type: ignore[no-untyped-def]
    def slow(kind: str, document: bytes):  # type: ignore[no-untyped-def]
        time.sleep(1.5)
        raise AssertionError("never awaited this far")

    monkeypatch.setattr(reading, "read_document", slow)
    monkeypatch.setattr(reading, "READ_SECONDS", 0.2)
    started = time.monotonic()
    result = await verify_document(b"%PDF-1.7\n", trust=trust)
    assert time.monotonic() - started < 1.2
    assert [r.code for r in result.reasons] == [ReasonCode.DOCUMENT_TOO_COMPLEX]
    assert result.verdict is Verdict.INDETERMINATE
    await asyncio.sleep(1.5)  # let the abandoned read end before the next test


async def test_an_unforeseen_failure_is_malformed_without_its_words(
    monkeypatch, trust, caplog
) -> None:  # type: ignore[no-untyped-def]
    def broken(kind: str, document: bytes):  # type: ignore[no-untyped-def]
        raise RuntimeError("<pyhanko.Thing object at 0x7f00deadbeef>")

    monkeypatch.setattr(reading, "read_document", broken)
    result = await verify_document(b"<transcript/>", trust=trust)
    assert [r.code for r in result.reasons] == [ReasonCode.DOCUMENT_MALFORMED]
    assert_no_leak(result.reasons[0].message + result.reasons[0].message_en)
    assert "0x7f00deadbeef" in caplog.text  # the traceback is in the server log


# --- Fuzzing a real signed transcript ----------------------------------------------------


def mutations(size: int) -> st.SearchStrategy[list[tuple[str, int, bytes]]]:
    """A few edits: overwrite, insert or delete bytes, or cut the file, anywhere or near
    its end (where the xref, the trailer and the last signature are)."""
    position = st.one_of(st.integers(0, size - 1), st.integers(max(0, size - 4000), size - 1))
    edit = st.tuples(
        st.sampled_from(["overwrite", "insert", "delete", "cut"]),
        position,
        st.binary(min_size=1, max_size=16)
        | st.sampled_from([b"[", b"<<", b"(", b"0 R", b"\x00", b"9999999999", b"%%EOF", b">"]),
    )
    return st.lists(edit, min_size=1, max_size=4)


def mutate(document: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    for kind, position, chunk in edits:
        position = min(position, max(0, len(document) - 1))
        if kind == "overwrite":
            document = document[:position] + chunk + document[position + len(chunk) :]
        elif kind == "insert":
            document = document[:position] + chunk + document[position:]
        elif kind == "delete":
            document = document[:position] + document[position + len(chunk) :]
        else:
            document = document[:position]
    return document


def fuzzed(document: bytes, examples: int) -> list[bytes]:
    """Mutated copies of ``document``, drawn by hypothesis (deterministically)."""
    found: list[bytes] = []

    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(mutations(len(document)))
    def collect(edits: list[tuple[str, int, bytes]]) -> None:
        found.append(mutate(document, edits))

    collect()
    return found


@pytest.mark.parametrize("kind", ["pdf", "xml"])
async def test_mutated_signed_transcripts_always_get_a_verdict(
    kind, signed, trust, verifier, token
) -> None:  # type: ignore[no-untyped-def]
    documents = fuzzed(signed[kind], examples=60)
    assert len(documents) >= 30
    for number, document in enumerate(documents):
        result = await verify_document(document, trust=trust)
        for reason in result.reasons:
            assert_no_leak(reason.message + reason.message_en)
        # Every third one also through both front doors (they share the function).
        if number % 3 == 0:
            answer = await over_http(verifier, document)
            assert answer["verdict"] == result.verdict
            answer = await over_graphql(verifier, token, document)
            assert answer["verdict"] == result.verdict
