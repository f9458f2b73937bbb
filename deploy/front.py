"""The local stack's front: a round-robin TCP proxy in front of the API processes.

Production puts a load balancer in front of the API processes; on one machine this does
the same at layer 4, as a Kubernetes Service does: each new connection goes to the next
API process in turn, and one that refuses the connection (killed, restarting) is passed
over for the next, so requests keep being answered while one process lives. A
connection keeps its API process (HTTP keep-alive): a client that wants its requests
spread opens a connection per request. Standard library only.

    python deploy/front.py --listen 127.0.0.1:8100 --backend 127.0.0.1:8101 \\
        --backend 127.0.0.1:8102
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys

#: How long connecting to one API process may take before the next is tried.
CONNECT_SECONDS = 2.0
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 24\r\n"
    b"connection: close\r\n\r\nno API process answered"
)


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


class Front:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.turn = itertools.count()

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the next API process that takes one, in turn."""
        start = next(self.turn)
        for step in range(len(self.backends)):
            host, port = self.backends[(start + step) % len(self.backends)]
            try:
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_SECONDS)
            except (OSError, TimeoutError) as error:
                print(f"front: {host}:{port} refused ({error}); trying the next", file=sys.stderr)
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self.connect()
        if upstream is None:
            writer.write(BAD_GATEWAY)
            with contextlib.suppress(OSError):
                await writer.drain()
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        for end in (writer, up_writer):
            end.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the end of ``reader``, then half-close ``writer``; an error ends both."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


async def serve(listen: tuple[str, int], backends: list[tuple[str, int]]) -> None:
    front = Front(backends)
    server = await asyncio.start_server(front.handle, *listen, reuse_address=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopped.set)
    named = ", ".join(f"{h}:{p}" for h, p in backends)
    print(f"front: http://{listen[0]}:{listen[1]} → {named}", file=sys.stderr, flush=True)
    async with server:
        await stopped.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=address, required=True, help="HOST:PORT")
    parser.add_argument(
        "--backend", type=address, action="append", required=True, help="HOST:PORT, repeated"
    )
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.listen, arguments.backend))


if __name__ == "__main__":
    main()
