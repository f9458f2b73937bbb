"""What every ``hub`` command shares: the console, running a coroutine, a database."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console

from hub.config import Settings

if TYPE_CHECKING:
    from hub.db.engine import Database

T = TypeVar("T")

console = Console()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one step of a command on a fresh event loop."""
    return asyncio.run(coroutine)


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator["Database"]:
    """The database of ``settings`` for the length of a step, disposed after."""
    from hub.db.engine import Database

    db = Database(settings.database_url)
    try:
        yield db
    finally:
        await db.dispose()


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
