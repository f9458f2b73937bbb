"""One school made ready to sign: its signers enrolled at the simulators, five transcripts ready.

The transcripts are drafted from the seeded gradebook by the transcript service's
own generate path, then locked by its ``mark_ready``, exactly as a vendor app's
``generateTranscripts`` and ``markTranscriptReady`` would, so they carry the
year's real results.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from hub.config import Settings
from hub.db import models, roles
from hub.db.engine import Database

#: How many transcripts the demo readies for signing.
READY_COUNT = 5


@dataclass(frozen=True)
class ReadyTranscripts:
    """What the demo prints so the newcomer can sign: ids, class, signers' personal IDs."""

    ids: list[str]
    class_name: str
    teacher_personal_id: str
    principal_personal_id: str | None


async def enrol_and_ready(
    settings: Settings, suite: Any, school_code: str, *, seal: bool
) -> ReadyTranscripts | None:
    """Enrol ``school_code``'s signers at ``suite``'s simulators and ready five transcripts.

    With ``seal`` False (no SoftHSM2 here, see :mod:`hub.demo.seal`) the school's
    seal gets no token and stays unusable; its people are enrolled all the same.
    None when no transcript of the school's first class could be readied.
    """
    from strawberry.relay import GlobalID

    from hub.adapters.signing.pkcs11.simulator import SoftHSMUnavailable
    from hub.auth.access import SCOPES, Caller
    from hub.domain.enums import OrgLevel
    from hub.domain.problems import HubError
    from hub.transcripts import service as transcripts

    caller = Caller("demo", frozenset(SCOPES), OrgLevel.DEPARTMENT, None)
    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            school = await session.scalar(
                select(models.School).where(models.School.moet_code == school_code)
            )
            assert school is not None
            try:
                await suite.enrol_school(session, school.id)
            except SoftHSMUnavailable:
                # Staff were enrolled before the seal failed; the seal row keeps no token.
                if seal:
                    raise
            year = await transcripts.school_year(session, code=None)
            school_class = await session.scalar(
                select(models.SchoolClass)
                .where(
                    models.SchoolClass.school_id == school.id,
                    models.SchoolClass.school_year_id == year.id,
                    models.SchoolClass.homeroom_teacher_id.is_not(None),
                )
                .order_by(models.SchoolClass.name)
                .limit(1)
            )
            if school_class is None:
                return None
            head = await roles.principal(session, school_id=school.id)
            teacher = await roles.homeroom_teacher(session, class_id=school_class.id)
            if head is None or teacher is None:
                return None
            principal = head.personal_id
            report = await transcripts.generate(
                session,
                caller=caller,
                school_year=year,
                class_ids=[school_class.id],
                base_url=settings.issuer,
                today=date.today(),
            )
            ready: list[str] = []
            for transcript in report.transcripts:
                if len(ready) == READY_COUNT:
                    break
                if transcript.state == "DRAFT":
                    try:
                        await transcripts.mark_ready(
                            session, caller=caller, transcript_id=transcript.id
                        )
                    except HubError:  # no personal ID, or no result: not one to show
                        continue
                elif transcript.state != "READY":
                    continue
                ready.append(str(GlobalID("Transcript", str(transcript.id))))
    finally:
        await db.dispose()
    if not ready:
        return None
    return ReadyTranscripts(ready, school_class.name, teacher.personal_id, principal)
