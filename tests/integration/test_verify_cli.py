"""``hub verify FILE``: what someone holding a downloaded transcript runs.

The command runs in its own process, in production mode, trusting only the roots it
is given; the signed documents come from the XAdES / PAdES engines and the demo
PKI, whose OCSP responder (served by this test process, from a thread of its own)
the command asks over loopback HTTP. Exit codes: 0 valid, 1 invalid, 3 indeterminate.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.adapters.signing.pki import DemoPKI, Issued
from hub.documents import samples
from hub.domain.signers import SIGNING_ORDER
from hub.signing import longterm
from hub.signing.trust import TrustStore
from tests import signing_support as support
from tests.signing_support import PRINCIPAL_NAME, TEACHER_NAME, flip_a_content_byte, sign_all

ROLE_LABELS = [role.label for role in SIGNING_ORDER]

signers = support.signers


@pytest.fixture(scope="module")
async def files(
    tmp_path_factory: pytest.TempPathFactory, signers: list[Issued], pki: DemoPKI
) -> dict[str, Path]:
    """The documents and the roots, as files a user would have."""
    from hub.transcripts.service import render

    xml, pdf = await render(samples.secondary(12))
    signed_pdf = await sign_all(pdf, signers, pki.timestamper)
    documents = {
        "valid.xml": await sign_all(xml, signers, pki.timestamper),
        "valid.pdf": signed_pdf,
        "tampered.pdf": flip_a_content_byte(signed_pdf),
        "untimed.xml": await sign_all(xml, signers),
        "roots.pem": pki.roots_pem(),
    }
    sealed = longterm.Documents(documents["valid.xml"], signed_pdf)
    long_term = await longterm.make_long_term(
        sealed, trust=TrustStore(pki.roots), timestamper=pki.timestamper
    )
    documents |= {"long-term.xml": long_term.xml, "long-term.pdf": long_term.pdf}
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
    assert "Đang kiểm tra" not in run.stderr  # a program reading JSON is told nothing else
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
    # What it does is said on stderr (first, before the libraries load), not in the result.
    assert run.stderr.startswith("Đang kiểm tra valid.xml"), run.stderr
    assert "Đang kiểm tra" not in run.stdout and "DSA is deprecated" not in run.stderr


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


@pytest.mark.parametrize("kind", ["xml", "pdf"])
def test_a_long_term_transcript_is_valid_offline_and_says_how_far_it_reaches(
    files: dict[str, Path], kind: str
) -> None:
    """Offline it proves itself; ten years on its archive timestamp's TSA has lapsed
    (the archive job renews it before then): INDETERMINATE, saying so."""
    document, roots = files[f"long-term.{kind}"], files["roots.pem"]
    now = hub_verify(document, "--trust", roots, "--offline", "--json", cwd=document.parent)
    assert now.returncode == 0, now.stdout + now.stderr
    assert verdict_of(now)["verdict"] == "VALID"
    later = hub_verify(
        document,
        "--trust",
        roots,
        "--offline",
        "--at",
        "2036-12-06",
        "--json",
        cwd=document.parent,
    )
    assert later.returncode == 3, later.stdout + later.stderr
    assert {r["code"] for r in verdict_of(later)["reasons"]} == {"TIMESTAMP_EXPIRED"}
