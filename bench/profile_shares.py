"""Where a signing worker's time goes: py-spy's raw samples tallied by part.

Record one worker mid-run (``bench/bulk_signing.py`` in another shell), holding the GIL
only, so each sample is Python work of the thread that ran it::

    .venv/bin/py-spy record --pid WORKER_PID --gil --nonblocking -r 200 -d 30 \\
        --format raw -o worker.raw
    .venv/bin/python bench/profile_shares.py worker.raw
    .venv/bin/python bench/profile_shares.py worker.raw --within 'sqlalchemy|psycopg'

Each stack counts once, for the first part of :data:`PARTS` it holds (the TSA's and
the providers' HTTP before the database, the database before the engine, so that an
engine step waiting on the TSA is not counted as the engine). ``--within PATTERN``
lists the functions, inclusive, of the stacks matching PATTERN instead. C code that
releases the GIL (SoftHSM's RSA, hashing of large buffers) is not in these samples.
"""

import argparse
import re
from collections import Counter
from pathlib import Path

#: (part, what a stack of that part holds), first match wins.
PARTS = (
    ("TSA HTTP (aiohttp)", r"aiohttp"),
    ("provider HTTP (httpx)", r"httpx|httpcore"),
    ("database (SQLAlchemy, psycopg)", r"sqlalchemy|psycopg"),
    ("engine: prepare_pdf", r"prepare_pdf \(hub/signing/pades"),
    ("engine: finish_pdf", r"finish_pdf \(hub/signing/pades"),
    ("engine: prepare_xml", r"prepare_xml \(hub/signing/xades"),
    ("engine: finish_xml", r"finish_xml \(hub/signing/xades"),
    ("prepared states (pack, unpack)", r"\b(pack|unpack) \(hub/signing/service"),
    ("seal token (PKCS#11)", r"pkcs11"),
    ("Dramatiq, Redis, asyncio and the rest", r""),
)


def samples(path: Path) -> list[tuple[list[str], int]]:
    """The stacks (outermost frame first, line numbers dropped) and their counts."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            found.append((frames, int(count)))
    return found


def shares(stacks: list[tuple[list[str], int]]) -> Counter[str]:
    tally: Counter[str] = Counter()
    for frames, count in stacks:
        joined = ";".join(frames)
        part = next(name for name, pattern in PARTS if re.search(pattern, joined))
        tally[part] += count
    return tally


def functions_within(stacks: list[tuple[list[str], int]], pattern: str) -> Counter[str]:
    tally: Counter[str] = Counter()
    for frames, count in stacks:
        if re.search(pattern, ";".join(frames)):
            for frame in set(frames):
                tally[frame] += count
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy record --format raw output")
    parser.add_argument("--within", help="list functions of the stacks matching this")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    stacks = samples(args.raw)
    total = sum(count for _, count in stacks) or 1
    tally = functions_within(stacks, args.within) if args.within else shares(stacks)
    for name, count in tally.most_common(args.top):
        print(f"{100 * count / total:5.1f} %  {name[:160]}")


if __name__ == "__main__":
    main()
