"""``hub schema``: print, write or check the GraphQL SDL."""

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import console

SCHEMA_FILE = Path("schema.graphql")


def schema_command(
    write: Annotated[bool, typer.Option("--write", help="Write schema.graphql")] = False,
    check: Annotated[bool, typer.Option("--check", help="Fail if schema.graphql is stale")] = False,
) -> None:
    """Print, write or check the GraphQL SDL (schema.graphql)."""
    from hub.schema.api import schema

    sdl = str(schema) + "\n"
    if write:
        SCHEMA_FILE.write_text(sdl, encoding="utf-8")
        console.print(f"[green]Wrote {SCHEMA_FILE}[/]")
    elif check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != sdl:
            console.print("[red]schema.graphql differs from the code: run `hub schema --write`[/]")
            raise typer.Exit(1)
        console.print("[green]schema.graphql matches the code[/]")
    else:
        typer.echo(sdl, nl=False)
