"""What ``dramatiq`` imports in each worker process: the broker for this machine's settings."""

from hub.config import get_settings
from hub.jobs.actors import configure

broker = configure(get_settings())
