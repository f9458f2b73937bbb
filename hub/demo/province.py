"""The demo province: migrated, seeded once, and two fresh demo clients with tokens."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from hub.config import Settings
from hub.db.engine import Database

#: Every client the demo registers is named so, and replaced on each run.
DEMO_CLIENT_PREFIX = "Demo:"

DEPARTMENT_SCOPES = (
    "students:read",
    "students:write",
    "staff:read",
    "staff:write",
    "certificates:read",
    "reports:read",
    "changes:read",
    "personal-ids:read",
    "sync:run",  # startSync against the demo's national simulators
)
VENDOR_SCOPES = (
    "students:read",
    "students:write",
    "staff:read",
    "staff:write",
    "certificates:read",
    "changes:read",
    "personal-ids:read",
    "contacts:read",
    "assessments:read",
    "assessments:write",
    "transcripts:read",
    "transcripts:write",
    "transcripts:sign",
)


@dataclass(frozen=True)
class DemoAccess:
    """What the demo prints so a newcomer can call the API at once."""

    department_token: str
    vendor_token: str
    vendor_id: str
    vendor_secret: str
    vendor_school_code: str
    vendor_school_name: str


async def prepare_province(
    settings: Settings, *, seed: Callable[[Database], Awaitable[object]]
) -> DemoAccess:
    """Migrate, ``seed(db)`` if there is no school yet, and register fresh demo clients.

    The vendor client is a lower-secondary school's app (the first such school),
    the department client reaches the whole province; their tokens last 8 hours.
    """
    from hub.auth.clients import create_client
    from hub.auth.tokens import TokenIssuer, load_signing_key
    from hub.db.migrate import upgrade
    from hub.db.models import ApiClient, School
    from hub.domain.enums import ClientKind, OrgLevel, SchoolLevel

    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        async with db.sessions() as session:
            schools = await session.scalar(select(func.count()).select_from(School))
        if not schools:
            await seed(db)
        async with db.unit_of_work() as session:
            await session.execute(
                delete(ApiClient).where(ApiClient.name.like(f"{DEMO_CLIENT_PREFIX}%"))
            )
            school_code, school_name = (
                await session.execute(
                    select(School.moet_code, School.name)
                    .where(School.level == SchoolLevel.LOWER_SECONDARY)
                    .order_by(School.id)
                    .limit(1)
                )
            ).one()
            department = await create_client(
                session,
                name=f"{DEMO_CLIENT_PREFIX} công cụ của Sở",
                kind=ClientKind.DEPARTMENT_TOOL,
                scopes=list(DEPARTMENT_SCOPES),
                org_level=OrgLevel.DEPARTMENT,
            )
            vendor = await create_client(
                session,
                name=f"{DEMO_CLIENT_PREFIX} phần mềm của trường {school_code}",
                kind=ClientKind.VENDOR,
                scopes=list(VENDOR_SCOPES),
                org_level=OrgLevel.SCHOOL,
                school_codes=[school_code],
            )
    finally:
        await db.dispose()
    issuer = TokenIssuer(
        load_signing_key(settings), issuer=settings.issuer, lifetime_seconds=8 * 3600
    )
    return DemoAccess(
        department_token=issuer.issue(department.client_id, frozenset(department.scopes))[0],
        vendor_token=issuer.issue(vendor.client_id, frozenset(vendor.scopes))[0],
        vendor_id=vendor.client_id,
        vendor_secret=vendor.client_secret,
        vendor_school_code=school_code,
        vendor_school_name=school_name,
    )
