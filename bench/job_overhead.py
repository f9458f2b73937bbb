"""Benchmark: what a job message costs outside the work it carries.

The hub's broker exactly as a worker has it (Redis, the hub's middleware: retries,
time limit, AsyncIO actors) runs a do-nothing async actor: every message is
fetched from Redis, decoded, passed through the middleware, run on the worker's
event loop and acknowledged, and nothing else. One worker process (this one)
with ``--threads`` threads; measured: CPU time and wall time per message.

A bulk-signing chunk of 25 transcripts takes one ``send_chunk`` message and, with
the simulators' 1-second confirmation, one ``poll_request`` ask (2 s after sending:
``hub.jobs.signing.FIRST_ASK_SECONDS``; it took three, from at once, before), so the
overhead per transcript is 2/25 of a message's cost;
``--messages-per-item`` changes that ratio.

    .venv/bin/python bench/job_overhead.py [--messages 5000] [--threads 8]
"""

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dramatiq  # noqa: E402

from hub.config import Settings  # noqa: E402
from hub.jobs.broker import make_broker  # noqa: E402


def main(args: argparse.Namespace) -> None:
    namespace = f"bench-overhead-{uuid.uuid4().hex[:6]}"
    broker = make_broker(Settings(redis_url=args.redis_url, jobs_namespace=namespace))
    dramatiq.set_broker(broker)
    done = threading.Semaphore(0)

    @dramatiq.actor(broker=broker, queue_name="overhead")
    async def noop(n: int) -> None:
        done.release()

    for n in range(args.messages):
        noop.send(n)
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=100)
    cpu, wall = time.process_time(), time.perf_counter()
    worker.start()
    for _ in range(args.messages):
        done.acquire()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    worker.stop()
    broker.flush_all()
    broker.close()
    per_message_cpu = 1000 * cpu / args.messages
    per_item = per_message_cpu * args.messages_per_item
    print(
        f"{args.messages:,} messages through Redis on 1 process × {args.threads} threads: "
        f"{args.messages / wall:,.0f} messages/s; {per_message_cpu:.2f} ms CPU per message "
        f"({1000 * wall / args.messages:.2f} ms wall)"
    )
    print(
        f"per transcript and role at {args.messages_per_item:.2f} messages each: "
        f"{per_item:.3f} ms CPU outside signing and database work"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--messages-per-item", type=float, default=2 / 25)
    parser.add_argument(
        "--redis-url", default=os.environ.get("HUB_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    main(parser.parse_args())
