"""``hub verify``: verify a signed transcript (XML or PDF) from the command line.

Kept light to start: everything heavy is imported inside the command.
"""

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.cli.common import console, run
from hub.config import get_settings

if TYPE_CHECKING:
    from hub.signing.verification.report import VerificationResult

#: Where the command says what it is doing (stderr: stdout holds only the result).
progress = Console(stderr=True)

#: ``hub verify`` exit codes (2 is click's own for a usage error).
EXIT_VALID, EXIT_INVALID, EXIT_INDETERMINATE = 0, 1, 3

#: Times shown to people are Vietnam's (the PDF stamp says GMT+7 too).
VIETNAM = timezone(timedelta(hours=7))


def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="XML or PDF")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="PEM file of trusted roots (repeatable)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask OCSP/CRL (revocation unknown)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable result")] = False,
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            formats=["%Y-%m-%d"],
            help="Judge as of this date (YYYY-MM-DD): will the transcript still prove "
            "itself then? (its archive timestamps must reach that far)",
        ),
    ] = None,
) -> None:
    """Verify a signed transcript; exit 0 valid, 1 invalid, 3 indeterminate."""
    if not as_json:
        # Said before the signature libraries load (most of the command's time), so the
        # person at the terminal sees at once that the file is being checked.
        progress.print(f"Đang kiểm tra {file.name} ({file.stat().st_size:,} byte)…")
    # pyHanko imports a DSA class cryptography has deprecated: nothing the person can act on.
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    from hub.signing.trust import trust_store
    from hub.signing.verification import Verdict, verify_document
    from hub.signing.verification import as_json as result_json

    store = trust_store(get_settings(), extra=trust or [], fetch_revocation=not offline)
    if not store.roots:
        console.print("[red]Không có chứng thư gốc tin cậy nào: dùng --trust FILE.pem[/]")
        raise typer.Exit(EXIT_INDETERMINATE)
    moment = at.replace(tzinfo=VIETNAM) if at is not None else None
    result = run(verify_document(file.read_bytes(), trust=store, at=moment))
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=1))
    else:
        _print_verification(result)
    raise typer.Exit(
        {Verdict.VALID: EXIT_VALID, Verdict.INVALID: EXIT_INVALID}.get(
            result.verdict, EXIT_INDETERMINATE
        )
    )


def _print_verification(result: "VerificationResult") -> None:
    colour = {"VALID": "green", "INVALID": "red", "INDETERMINATE": "yellow"}[result.verdict.value]
    console.print(f"[bold {colour}]{result.verdict.value}[/] ({result.kind.upper()})")
    table = Table(show_lines=True)
    for column in ("#", "vai trò", "người ký", "thời điểm ký (GMT+7)", "kết luận"):
        table.add_column(column)
    for s in result.signatures:
        when = s.timestamp_time or s.claimed_time
        table.add_row(
            str(s.index + 1),
            s.role.label if s.role else "?",
            f"{s.signer_name or '?'}\n{s.issuer or ''}",
            when.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S") if when else "?",
            s.verdict.value,
        )
    console.print(table)
    for r in result.reasons:
        console.print(f"• [bold]{r.code.value}[/]: {r.message}\n  [dim]{r.message_en}[/]")
    if result.attached is not None:
        agreement = (
            "khớp nội dung với PDF (same content as the PDF)"
            if result.attached_agrees
            else "[red]KHÔNG khớp nội dung với PDF (differs from the PDF)[/]"
        )
        console.print(
            f"Học bạ XML đã ký đi kèm (signed XML carried in the PDF): "
            f"[bold]{result.attached.verdict.value}[/], {agreement}"
        )
