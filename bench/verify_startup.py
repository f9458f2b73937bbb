"""Benchmark: ``hub verify`` from launch to its first output, and to its verdict; and the
size of the sealed transcript it checks (issue 13: first output within 0.5 s).

One transcript signed by homeroom teacher, principal and seal (the sample school, the
demo PKI served on loopback while the seal makes it long-term: PAdES B-LTA and XAdES
LTA, as the hub seals), written as XML and PDF with its roots' PEM; then, the PKI
stopped, ``hub verify --offline --trust roots.pem FILE`` launched ``--runs`` times each,
every byte it writes (stdout and stderr) watched from the moment of launch:

    .venv/bin/python bench/verify_startup.py [--runs 10]
"""

import argparse
import asyncio
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on the path, for tests.signing_support)
from cryptography.hazmat.primitives.serialization import Encoding

from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.documents import samples
from hub.signing import longterm
from hub.signing.trust import TrustStore
from hub.transcripts.service import render
from tests.signing_support import school_signers, sign_all

TARGET_SECONDS = 0.5


def timed(command: list[str]) -> tuple[float, float, int]:
    """Seconds to the first byte written, seconds to the end, and the exit code. The run
    must have checked the whole file: a long-term transcript is VALID offline (exit 0),
    else what was timed is a failure."""
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
    if code != 0 or not stdout.startswith(b"VALID"):
        raise RuntimeError(f"{' '.join(command)}: exit {code}\n{stdout.decode()}{stderr.decode()}")
    return (first if first is not None else end), end, code


async def documents(directory: Path) -> tuple[Path, Path, Path]:
    """The sealed transcript, B-T then long-term, its PKI served only meanwhile."""
    port = free_port("127.0.0.1")
    pki = DemoPKI.create(f"http://127.0.0.1:{port}")
    signers = school_signers(pki)
    xml, pdf = await render(samples.secondary(1))
    sealed = longterm.Documents(
        await sign_all(xml, signers, pki.timestamper),
        await sign_all(pdf, signers, pki.timestamper),
    )
    print(f"sealed B-T: PDF {len(sealed.pdf):,} bytes, XML {len(sealed.xml):,} bytes")
    with SimulatorServer(pki.app(), port=port):
        sealed = await longterm.make_long_term(
            sealed, trust=TrustStore(pki.roots), timestamper=pki.timestamper
        )
    roots = directory / "roots.pem"
    roots.write_bytes(b"".join(root.public_bytes(Encoding.PEM) for root in pki.roots))
    (directory / "hocba.xml").write_bytes(sealed.xml)
    (directory / "hocba.pdf").write_bytes(sealed.pdf)
    return roots, directory / "hocba.xml", directory / "hocba.pdf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="hub-bench-verify-"))
    roots, xml, pdf = asyncio.run(documents(directory))
    hub = str(Path(sys.executable).parent / "hub")
    print(f"sealed LTA: PDF {pdf.stat().st_size:,} bytes, XML {xml.stat().st_size:,} bytes")
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
