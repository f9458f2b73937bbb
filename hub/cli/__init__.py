"""The ``hub`` command line (typer + rich): one module per command group.

Each module imports what its commands need inside them, so ``hub --help`` and
``hub verify`` start without loading the database, the jobs or the documents.
"""

import typer

from hub.cli import (
    certificates,
    clients,
    db,
    demo,
    migrate_provider,
    people,
    schema,
    seed,
    serve,
    sign,
    simulators,
    sync,
    transcripts,
    verify,
    worker,
)

app = typer.Typer(help="The provincial education data hub (học bạ số).", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(clients.app, name="clients")
app.add_typer(people.app, name="people")
app.add_typer(transcripts.app, name="transcripts")
app.command("seed")(seed.seed)
app.add_typer(sign.app, name="sign")
app.add_typer(sync.app, name="sync")
app.add_typer(certificates.app, name="certificates")
app.add_typer(migrate_provider.app, name="migrate-provider")
app.command("worker")(worker.worker)
app.command("verify")(verify.verify)
app.command("schema")(schema.schema_command)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("simulators")(simulators.simulators)

__all__ = ["app"]
