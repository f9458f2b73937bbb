"""Benchmark: ``hub verify`` from launch to its first output, and to its verdict; and the
size of the sealed transcript it checks (issue 13: first output within 0.5 s).

One transcript signed by homeroom teacher, principal and seal (the sample school, a
demo PKI whose CRL/OCSP nobody serves), written as XML and PDF with its roots' PEM;
then ``hub verify --offline --trust roots.pem FILE`` launched ``--runs`` times each,
every byte it writes (stdout and stderr) watched from the moment of launch:

    .venv/bin/python bench/verify_startup.py [--runs 10]
"""

import argparse
import asyncio
import os
import re
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import offline_signers
from cryptography.hazmat.primitives.serialization import Encoding

from hub.documents import samples
from hub.transcripts.service import render
from tests.signing_support import sign_all

TARGET_SECONDS = 0.5


def timed(command: list[str]) -> tuple[float, float, int]:
    """Seconds to the first byte written, seconds to the end, and the exit code. The run
    must have checked the whole file: offline, the verdict is INDETERMINATE (exit 3) for
    the revocation it could not check and for nothing else, else what was timed is a
    failure."""
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    watch = selectors.DefaultSelector()
    watch.register(process.stdout, selectors.EVENT_READ)
    watch.register(process.stderr, selectors.EVENT_READ)
    first = None
    written: dict[int, bytes] = {process.stdout.fileno(): b"", process.stderr.fileno(): b""}
    open_streams = 2
    while open_streams:
        for key, _ in watch.select():
            chunk = os.read(key.fd, 65536)
            if not chunk:
                watch.unregister(key.fileobj)
                open_streams -= 1
                continue
            written[key.fd] += chunk
            if first is None:
                first = time.perf_counter() - began
    code = process.wait()
    end = time.perf_counter() - began
    stdout, stderr = written[process.stdout.fileno()], written[process.stderr.fileno()]
    reasons = set(re.findall(r"^• ([A-Z_]+):", stdout.decode(), re.M))
    if code != 3 or not stdout.startswith(b"INDETERMINATE") or reasons != {"REVOCATION_UNKNOWN"}:
        raise RuntimeError(f"{' '.join(command)}: exit {code}\n{stdout.decode()}{stderr.decode()}")
    return (first if first is not None else end), end, code


async def documents(directory: Path) -> tuple[Path, Path, Path]:
    pki, signers = offline_signers()
    xml, pdf = await render(samples.secondary(1))
    signed_xml = await sign_all(xml, signers, pki.timestamper)
    signed_pdf = await sign_all(pdf, signers, pki.timestamper)
    roots = directory / "roots.pem"
    roots.write_bytes(b"".join(root.public_bytes(Encoding.PEM) for root in pki.roots))
    (directory / "hocba.xml").write_bytes(signed_xml)
    (directory / "hocba.pdf").write_bytes(signed_pdf)
    return roots, directory / "hocba.xml", directory / "hocba.pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="hub-bench-verify-"))
    roots, xml, pdf = asyncio.run(documents(directory))
    hub = str(Path(sys.executable).parent / "hub")
    print(f"sealed transcript: PDF {pdf.stat().st_size:,} bytes, XML {xml.stat().st_size:,} bytes")
    print(f"{'file':10} {'first output (median, max)':>28} {'verdict (median)':>18}  exit")
    for file in (xml, pdf):
        command = [hub, "verify", "--offline", "--trust", str(roots), str(file)]
        timed(command)  # the first launch fills the OS's file cache
        runs = [timed(command) for _ in range(args.runs)]
        firsts, ends = [r[0] for r in runs], [r[1] for r in runs]
        print(
            f"{file.name:10} {statistics.median(firsts):14.2f} s, {max(firsts):.2f} s"
            f"{statistics.median(ends):16.2f} s  {sorted({r[2] for r in runs})}"
        )
    print(f"target: first output within {TARGET_SECONDS} s of launch")


if __name__ == "__main__":
    main()
