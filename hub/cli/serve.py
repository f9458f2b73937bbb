"""``hub serve``: the API over HTTP."""

from typing import Annotated

import typer

from hub.config import get_settings


def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the API (GraphQL at /graphql)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "hub.web.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
