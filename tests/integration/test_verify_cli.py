"""``hub verify FILE``: what someone holding a downloaded transcript runs.

The command runs in its own process, in production mode, trusting only the roots it
is given; the signed documents come from the XAdES / PAdES engines and the demo
PKI, whose OCSP responder (served by this test process, from a thread of its own)
the command asks over loopback HTTP. Exit codes: 0 valid, 1 invalid, 3 indeterminate.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.adapters.signing.pki import GOV, DemoPKI, Issued
from hub.adapters.signing.simulator import sign_digest
from hub.documents import samples
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.pades import finish_pdf, prepare_pdf
from hub.signing.xades import finish_xml, prepare_xml

TEACHER_NAME, PRINCIPAL_NAME = "Nguyễn Thị Lan", "Trần Văn Minh"
ROLE_LABELS = [role.label for role in SIGNING_ORDER]


@pytest.fixture(scope="module")
def signers(pki: DemoPKI) -> list[Issued]:
    school = samples.SCHOOL
    return [
        pki.issue_person(
            GOV, full_name=TEACHER_NAME, personal_id="001085012345", organisation=school.name
        ),
        pki.issue_person(
            GOV, full_name=PRINCIPAL_NAME, personal_id="001075054321", organisation=school.name
        ),
        pki.issue_seal(GOV, school_name=school.name, school_code=school.moet_code),
    ]


async def sign_all(document: bytes, signers: list[Issued], pki: DemoPKI, *, b_t: bool) -> bytes:
    """Signed by the three in order; B-T with the demo TSA, or B-B."""
    timestamper = pki.timestamper if b_t else None
    for role, who in zip(SIGNING_ORDER, signers, strict=True):
        document = await _sign(document, role, who, timestamper)
    return document


async def _sign(document: bytes, role: SignerRole, who: Issued, timestamper) -> bytes:  # type: ignore[no-untyped-def]
    if document.startswith(b"%PDF"):
        pdf = await prepare_pdf(document, role=role, certificate=who.certificate, chain=who.chain)
        return await finish_pdf(pdf, sign_digest(who.key, pdf.digest), timestamper=timestamper)
    xml = prepare_xml(document, role=role, certificate=who.certificate, chain=who.chain)
    return await finish_xml(xml, sign_digest(who.key, xml.digest), timestamper=timestamper)


def flip_a_content_byte(pdf: bytes) -> bytes:
    """One byte of the first page's content stream, before the first signature's revision."""
    reader = PdfFileReader(io.BytesIO(pdf))
    contents = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    reference = contents[0] if isinstance(contents, generic.ArrayObject) else contents
    position = pdf.index(b"stream", pdf.index(b"\n%d 0 obj" % reference.idnum)) + 20
    assert position < pdf.index(b"/ByteRange")
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


@pytest.fixture(scope="module")
async def files(
    tmp_path_factory: pytest.TempPathFactory, signers: list[Issued], pki: DemoPKI
) -> dict[str, Path]:
    """The documents and the roots, as files a user would have."""
    from hub.transcripts.service import render

    xml, pdf = await render(samples.secondary(12))
    signed_pdf = await sign_all(pdf, signers, pki, b_t=True)
    documents = {
        "valid.xml": await sign_all(xml, signers, pki, b_t=True),
        "valid.pdf": signed_pdf,
        "tampered.pdf": flip_a_content_byte(signed_pdf),
        "untimed.xml": await sign_all(xml, signers, pki, b_t=False),
        "roots.pem": pki.roots_pem(),
    }
    directory = tmp_path_factory.mktemp("verify-cli")
    for name, content in documents.items():
        (directory / name).write_bytes(content)
    return {name: directory / name for name in documents}


def hub_verify(
    *args: str | Path, cwd: Path, trust_roots: str = "[]"
) -> subprocess.CompletedProcess[str]:
    """``hub verify`` in a production-mode process; only HUB_ variables set here count."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    env |= {"HUB_MODE": "production", "HUB_TRUST_ROOTS": trust_roots, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,  # no .env file there
        timeout=120,
        check=False,
    )


def verdict_of(run: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    """The ``--json`` result: stdout must be that JSON and nothing else."""
    return json.loads(run.stdout)


@pytest.mark.parametrize(
    ("name", "exit_code", "verdict", "codes", "vietnamese"),
    [
        ("valid.xml", 0, "VALID", [], None),
        ("valid.pdf", 0, "VALID", [], None),
        (
            "tampered.pdf",
            1,
            "INVALID",
            ["DOCUMENT_MODIFIED"] * 3,
            "Nội dung học bạ đã bị thay đổi sau khi Giáo viên chủ nhiệm (Nguyễn Thị Lan) ký.",
        ),
        (
            "untimed.xml",
            3,
            "INDETERMINATE",
            ["TIMESTAMP_MISSING"] * 3,
            "Chữ ký của Giáo viên chủ nhiệm (Nguyễn Thị Lan) không có dấu thời gian",
        ),
    ],
    ids=["valid-xml", "valid-pdf", "tampered-pdf", "b-b-xml"],
)
def test_exit_code_and_json_result(
    files: dict[str, Path],
    name: str,
    exit_code: int,
    verdict: str,
    codes: list[str],
    vietnamese: str | None,
) -> None:
    run = hub_verify(files[name], "--trust", files["roots.pem"], "--json", cwd=files[name].parent)
    assert run.returncode == exit_code, run.stdout + run.stderr
    result = verdict_of(run)
    assert result["kind"] == name.rsplit(".", 1)[1]
    assert result["verdict"] == verdict
    assert [r["code"] for r in result["reasons"]] == codes
    if vietnamese:
        assert result["reasons"][0]["message"].startswith(vietnamese)
    signatures = result["signatures"]
    assert [s["role"] for s in signatures] == [role.value for role in SIGNING_ORDER]
    assert [s["signer"] for s in signatures] == [
        TEACHER_NAME,
        PRINCIPAL_NAME,
        samples.SCHOOL.name,
    ]
    assert all(bool(s["timestamp_time"]) == (name != "untimed.xml") for s in signatures)


def test_without_json_the_result_is_a_table_naming_the_three_roles(
    files: dict[str, Path],
) -> None:
    run = hub_verify(
        files["valid.xml"], "--trust", files["roots.pem"], cwd=files["valid.xml"].parent
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not run.stdout.lstrip().startswith("{"), "printed JSON without --json"
    assert "VALID (XML)" in run.stdout
    for label in ROLE_LABELS:
        assert label in run.stdout
    assert TEACHER_NAME in run.stdout and PRINCIPAL_NAME in run.stdout


def test_roots_from_the_settings_are_used_without_trust_option(files: dict[str, Path]) -> None:
    roots = json.dumps([str(files["roots.pem"])])
    run = hub_verify(files["valid.xml"], "--json", cwd=files["valid.xml"].parent, trust_roots=roots)
    assert run.returncode == 0, run.stdout + run.stderr
    assert verdict_of(run)["verdict"] == "VALID"


def test_offline_leaves_revocation_unknown_and_exits_3(files: dict[str, Path]) -> None:
    run = hub_verify(
        files["valid.xml"],
        "--trust",
        files["roots.pem"],
        "--offline",
        "--json",
        cwd=files["valid.xml"].parent,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    result = verdict_of(run)
    assert result["verdict"] == "INDETERMINATE"
    assert [r["code"] for r in result["reasons"]] == ["REVOCATION_UNKNOWN"] * 3
    assert result["reasons"][0]["message"].startswith("Không kiểm tra được tình trạng thu hồi")


def test_no_trust_roots_at_all_exits_3_with_a_hint(files: dict[str, Path]) -> None:
    run = hub_verify(files["valid.xml"], cwd=files["valid.xml"].parent)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Không có chứng thư gốc tin cậy nào" in run.stdout
    assert "--trust" in run.stdout
