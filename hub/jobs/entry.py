"""What ``dramatiq`` imports in each worker process: the broker for this machine's settings,
its actors running with a runtime built from them."""

import logging

from hub.config import get_settings
from hub.heap import settle_heap
from hub.jobs.actors import configure, worker_runtime
from hub.logs import configure as configure_logging

# dramatiq's command line sets every logger to INFO; these two would log each request
# to a provider and each font subset.
for noisy in ("httpx", "fontTools"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

settings = get_settings()
configure_logging(settings)
broker = configure(settings, worker_runtime(settings))
# Each worker process imports this once: what it built stays out of the collector's passes.
settle_heap()
