"""How the hub's processes log (structlog): JSON lines in production, readable lines in the demo.

Tracebacks never carry the frames' local variables: a request's context holds the
settings (database URL, provider credentials, tokens) and the caller's personal
data, none of which belongs in a log.
"""

import logging
import sys

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from hub.config import Mode, Settings


def configure(settings: Settings) -> None:
    """Set up structlog (and the standard library's root logger) for this process."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[structlog.typing.Processor]
    if settings.mode is Mode.PRODUCTION:
        renderer = [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [
            structlog.dev.ConsoleRenderer(
                colors=sys.stdout.isatty(), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    structlog.configure(processors=[*shared, *renderer])
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    # One line per outgoing request drowns what a person must read (the demo's start,
    # a worker's progress); the adapters log their own outcomes.
    logging.getLogger("httpx").setLevel(logging.WARNING)
