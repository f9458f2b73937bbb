"""The population database (C06), simulated: citizens the tests seed, faults on demand.

Seed citizens with :meth:`PopulationSimulator.add_citizen` or ``POST /_sim/citizens``
(``[{"personalId", "fullName", "birthDate"}]``); faults as for the national
simulators (:class:`~hub.adapters.national.simulator.FarSide`).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.adapters.national.simulator import FarSide, error, json_response
from hub.adapters.population import protocol
from hub.adapters.population.protocol import IdentityResult


def same_name(a: str, b: str) -> bool:
    """Equal in NFC, ignoring case and repeated spaces (diacritics count)."""

    def norm(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name).casefold().split())

    return norm(a) == norm(b)


class PopulationSimulator(FarSide):
    def __init__(self) -> None:
        super().__init__("c06")
        #: Personal ID → (full name, birth date as ISO text).
        self.citizens: dict[str, tuple[str, str]] = {}
        self.lookups = 0

    def add_citizen(self, personal_id: str, full_name: str, birth_date: date | str) -> None:
        self.citizens[personal_id] = (full_name, str(birth_date))

    def received(self) -> dict[str, Any]:
        return super().received() | {"citizens": len(self.citizens), "lookups": self.lookups}

    def check(self, query: Any) -> IdentityResult:
        ref = str(query.get("ref"))
        citizen = self.citizens.get(query.get("personalId"))
        if citizen is None:
            return {"ref": ref, "result": protocol.UNKNOWN, "fields": []}
        fields = []
        if not same_name(citizen[0], str(query.get("fullName") or "")):
            fields.append(protocol.FULL_NAME)
        if citizen[1] != query.get("birthDate"):
            fields.append(protocol.BIRTH_DATE)
        result = protocol.MISMATCHED if fields else protocol.MATCHED
        return {"ref": ref, "result": result, "fields": fields}

    def sim_routes(self) -> list[BaseRoute]:
        async def citizens(request: Request) -> Response:
            for row in orjson.loads(await request.body()):
                self.add_citizen(row["personalId"], row["fullName"], row["birthDate"])
            return json_response({"citizens": len(self.citizens)})

        return [*super().sim_routes(), Route("/citizens", citizens, methods=["POST"])]

    def app(self) -> Starlette:
        async def verify(request: Request) -> Response:
            try:
                queries = orjson.loads(await request.body())["requests"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return error(400, "BAD_REQUEST", "Nội dung không hợp lệ.")
            if len(queries) > protocol.MAX_REQUESTS:
                return error(413, "BATCH_TOO_LARGE", f"Tối đa {protocol.MAX_REQUESTS} yêu cầu.")
            self.lookups += len(queries)
            return json_response({"results": [self.check(q) for q in queries]})

        return self.make_app([Route(protocol.VERIFY_PATH, verify, methods=["POST"])])
