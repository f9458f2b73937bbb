"""The guardian-verification mutations' work: ask the population database, record an
officer's in-person check (:mod:`hub.guardians.verification`), then read the links back
as the caller may see them."""

from collections.abc import Sequence
from typing import Any

from strawberry import relay

from hub.adapters.population.client import PopulationClient
from hub.config import Settings
from hub.domain.problems import Code, HubError
from hub.guardians import verification
from hub.guardians.verification import CheckedLink
from hub.resolvers.context import Context
from hub.resolvers.queries import node_key


def population_client(settings: Settings) -> PopulationClient:
    """A client of the population database for one request (officers verify links now
    and then, so no connection is kept open between requests); POPULATION_UNAVAILABLE
    where this server has none configured (``HUB_POPULATION_URL``)."""
    if not settings.population_url:
        raise HubError(Code.POPULATION_UNAVAILABLE)
    return PopulationClient(settings.population_url, token=settings.national_token)


async def verify_links(ctx: Context, *, student_ids: Sequence[relay.GlobalID]) -> list[CheckedLink]:
    """Ask the population database about the guardian links of these pupils."""
    ctx.caller.require("students:write")
    keys = [node_key(student_id, "Student") for student_id in student_ids]
    population = population_client(ctx.settings)
    try:
        async with ctx.db.unit_of_work() as session:
            return await verification.verify_links(
                session, population=population, caller=ctx.caller, student_ids=keys, now=ctx.now
            )
    finally:
        await population.aclose()


async def record_check(
    ctx: Context, *, link_id: relay.GlobalID, papers: str, note: str | None
) -> tuple[int, int]:
    """Record the signed-in officer's in-person check; the link's (id, pupil's id)."""
    key = node_key(link_id, "GuardianLink")
    async with ctx.db.unit_of_work() as session:
        link = await verification.record_in_person_check(
            session, caller=ctx.caller, link_id=key, papers=papers, note=note, now=ctx.now
        )
        return link.id, link.student_id


async def link_rows(ctx: Context, student_ids: Sequence[int]) -> dict[int, Any]:
    """The guardian links of these pupils as the caller may read them, by link id."""
    groups = await ctx.loaders.guardian_links_of_student.load_many(list(dict.fromkeys(student_ids)))
    return {row.id: row for rows in groups for row in rows}
