"""The department's dashboard (issue 12, part 4): a page per part of the roll-out.

Each module gives the routes of one part of the menu (:data:`desk.SECTIONS`); the
:class:`~hub.web.dashboard.desk.Desk` they share checks the officer, reads through a
resolver context and exports every table to CSV and XLSX.
"""

from starlette.routing import Route

from hub.web.dashboard.batches import batch_routes
from hub.web.dashboard.coverage import coverage_routes
from hub.web.dashboard.desk import Desk
from hub.web.dashboard.migrations import migration_routes
from hub.web.dashboard.providers import provider_routes
from hub.web.dashboard.pupils import pupil_routes
from hub.web.dashboard.results import result_routes
from hub.web.dashboard.signing import signing_routes
from hub.web.dashboard.sync import sync_routes
from hub.web.services import HubServices


def dashboard_routes(hub: HubServices) -> list[Route]:
    """The dashboard's pages, for :func:`hub.web.app.create_app`."""
    desk = Desk(hub)
    return [
        *coverage_routes(desk),
        *signing_routes(desk),
        *result_routes(desk),
        *provider_routes(desk),
        *migration_routes(desk),
        *batch_routes(desk),
        *sync_routes(desk),
        *pupil_routes(desk),
    ]
