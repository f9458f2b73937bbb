"""The population database (C06), simulated: citizens and families the tests seed, faults
on demand.

Seed citizens with :meth:`PopulationSimulator.add_citizen` or ``POST /_sim/citizens``
(``[{"personalId", "fullName", "birthDate"}]``), family relationships with
:meth:`PopulationSimulator.add_relationship` or ``POST /_sim/relationships``
(``[{"childPersonalId", "guardianPersonalId", "relation"}]``; both people become
citizens); faults as for the national simulators
(:class:`~hub.adapters.national.simulator.FarSide`).
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
from hub.adapters.population.protocol import IdentityResult, RelationshipResult


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
        #: (child's personal ID, adult's personal ID) → the relation recorded.
        self.relationships: dict[tuple[str, str], str] = {}
        #: Citizens known only through a relationship (no name or birth date seeded).
        self.relatives: set[str] = set()
        self.lookups = 0
        self.relationship_lookups = 0

    def add_citizen(self, personal_id: str, full_name: str, birth_date: date | str) -> None:
        self.citizens[personal_id] = (full_name, str(birth_date))

    def add_relationship(self, child: str, guardian: str, relation: str) -> None:
        """Record that ``guardian`` is the ``relation`` (FATHER, MOTHER, GUARDIAN) of ``child``."""
        if relation not in protocol.RELATIONS:
            raise ValueError(f"relation must be one of {protocol.RELATIONS}")
        self.relationships[(child, guardian)] = relation
        self.relatives |= {child, guardian}

    def is_citizen(self, personal_id: object) -> bool:
        return personal_id in self.citizens or personal_id in self.relatives

    def received(self) -> dict[str, Any]:
        return super().received() | {
            "citizens": len(self.citizens),
            "relationships": len(self.relationships),
            "lookups": self.lookups,
            "relationshipLookups": self.relationship_lookups,
        }

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

    def check_relationship(self, query: Any) -> RelationshipResult:
        ref = str(query.get("ref"))
        child, guardian = query.get("childPersonalId"), query.get("guardianPersonalId")
        if not (self.is_citizen(child) and self.is_citizen(guardian)):
            return {"ref": ref, "result": protocol.UNKNOWN}
        recorded = self.relationships.get((child, guardian))
        matched = recorded is not None and recorded == query.get("relation")
        return {"ref": ref, "result": protocol.MATCHED if matched else protocol.MISMATCHED}

    def sim_routes(self) -> list[BaseRoute]:
        async def citizens(request: Request) -> Response:
            for row in orjson.loads(await request.body()):
                self.add_citizen(row["personalId"], row["fullName"], row["birthDate"])
            return json_response({"citizens": len(self.citizens)})

        async def relationships(request: Request) -> Response:
            for row in orjson.loads(await request.body()):
                self.add_relationship(
                    row["childPersonalId"], row["guardianPersonalId"], row["relation"]
                )
            return json_response({"relationships": len(self.relationships)})

        return [
            *super().sim_routes(),
            Route("/citizens", citizens, methods=["POST"]),
            Route("/relationships", relationships, methods=["POST"]),
        ]

    def app(self) -> Starlette:
        async def requests_of(request: Request) -> list[Any] | Response:
            try:
                queries = orjson.loads(await request.body())["requests"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return error(400, "BAD_REQUEST", "Nội dung không hợp lệ.")
            if not isinstance(queries, list) or not all(isinstance(q, dict) for q in queries):
                return error(400, "BAD_REQUEST", "Nội dung không hợp lệ.")
            if len(queries) > protocol.MAX_REQUESTS:
                return error(413, "BATCH_TOO_LARGE", f"Tối đa {protocol.MAX_REQUESTS} yêu cầu.")
            return queries

        async def verify(request: Request) -> Response:
            queries = await requests_of(request)
            if isinstance(queries, Response):
                return queries
            self.lookups += len(queries)
            return json_response({"results": [self.check(q) for q in queries]})

        async def relationships(request: Request) -> Response:
            queries = await requests_of(request)
            if isinstance(queries, Response):
                return queries
            self.relationship_lookups += len(queries)
            return json_response({"results": [self.check_relationship(q) for q in queries]})

        return self.make_app(
            [
                Route(protocol.VERIFY_PATH, verify, methods=["POST"]),
                Route(protocol.RELATIONSHIPS_PATH, relationships, methods=["POST"]),
            ]
        )
