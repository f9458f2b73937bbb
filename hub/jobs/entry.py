"""What ``dramatiq`` imports in each worker process: the broker for this machine's settings,
its actors running with a runtime built from them."""

import asyncio
import logging

import uvloop

from hub.config import get_settings
from hub.heap import settle_heap
from hub.jobs.actors import configure, worker_runtime
from hub.logs import configure as configure_logging

# dramatiq's command line sets every logger to INFO; these two would log each request
# to a provider and each font subset.
for noisy in ("httpx", "fontTools"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

# The actors' event loop (dramatiq's AsyncIO middleware makes it at boot) is uvloop's, as
# uvicorn's is for the API: a signing step's round trips to PostgreSQL, the TSA and the
# providers cost less of the worker's CPU (docs/capacity.md, "Workers").
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
settings = get_settings()
configure_logging(settings)
broker = configure(settings, worker_runtime(settings))
# Each worker process imports this once: what it built stays out of the collector's passes.
settle_heap()
