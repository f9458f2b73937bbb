"""The test-only provider's far side, on the shared :mod:`hub.adapters.signing.simulator`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.adapters.signing.pki import GOV, DemoPKI
from hub.adapters.signing.simulator import (
    Phone,
    SimError,
    SimState,
    SimulatedProvider,
    Simulation,
    SimulatorServer,
    guarded_routes,
    person_enrolment,
)
from tests.contract.fake_provider import PROVIDER
from tests.contract.fake_provider.adapter import FakeAdapter

SECRET = "fake-secret"

_STATUS = {"UNAUTHORISED": 401, "USER_UNKNOWN": 404, "CREDENTIAL_UNKNOWN": 404}


def create_simulator(pki: DemoPKI) -> tuple[SimulatedProvider, Any]:
    office = SimulatedProvider("Fake (DEMO)", pki, GOV)

    async def body(request: Request) -> dict[str, Any]:
        if request.headers.get("x-client-secret") != SECRET:
            raise SimError("UNAUTHORISED")
        return await request.json()

    async def credentials(request: Request) -> Response:
        subscriber = office.subscriber((await body(request))["user"])
        return JSONResponse(
            {
                "credentials": [
                    {
                        "id": c.credential_id,
                        "certificates": [
                            base64.b64encode(x.public_bytes(Encoding.DER)).decode()
                            for x in (c.certificate, *c.chain)
                        ],
                        "max_batch": office.max_batch,
                    }
                    for c in subscriber.credentials
                ]
            }
        )

    async def sign(request: Request) -> Response:
        asked = await body(request)
        credential = office.credential(asked["credential"], asked["user"])
        digests = [base64.b64decode(d) for d in asked["digests"]]
        opened = office.open_transaction(credential, digests, asked["descriptions"])
        return JSONResponse({"transaction": opened.transaction_id})

    async def status(request: Request) -> Response:
        transaction = office.transaction((await body(request))["transaction"])
        return JSONResponse(
            {
                "state": transaction.state.value,
                "signatures": [base64.b64encode(s).decode() for s in transaction.signatures]
                if transaction.state is SimState.SIGNED
                else [],
                "error": transaction.error,
            }
        )

    async def health(request: Request) -> Response:
        await body(request)
        return JSONResponse({})

    def refusal(error: SimError) -> Response:
        return JSONResponse({"error": error.fault}, status_code=_STATUS.get(error.fault, 403))

    routes = [
        ("/credentials", credentials),
        ("/sign", sign),
        ("/status", status),
        ("/health", health),
    ]
    return office, office.app(guarded_routes(routes, refusal))


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    office, app = create_simulator(pki)
    office.phone = Phone(confirm_delay=confirm_delay)
    server = SimulatorServer(app).start()

    def connect(**options: Any) -> FakeAdapter:
        return FakeAdapter(**{"base_url": server.url, "client_secret": SECRET, **options})

    return Simulation(
        entry=PROVIDER,
        back_office=office,
        server=server,
        connect=connect,
        misconfigured={"client_secret": "wrong"},
        config=lambda _directory: {"url": server.url, "client_secret": SECRET},
        enrol=person_enrolment(PROVIDER, office),
    )
