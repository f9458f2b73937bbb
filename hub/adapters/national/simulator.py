"""The far side of the national sync, simulated: the sector database and the transcript store.

Each is a Starlette app speaking :mod:`hub.adapters.national.protocol`, keeping
what it received in memory so tests can check that every record arrived exactly
once (:attr:`SectorDatabaseSimulator.students`, ``applied``, ``resubmissions``;
:attr:`TranscriptStoreSimulator.documents`). Faults on demand, by attribute or
through the control routes under ``/_sim`` (never subject to the faults):

- ``POST /_sim/faults {"server_error": 503}``: every protocol call answers 503;
- ``{"fail_next": 2}``: the next two calls answer 503, then all is well;
- ``{"slow_seconds": 1.5}``: every protocol call waits first;
- ``{"reject": {"<key>": "<CODE>"}}``: those items are rejected with that code;
- down: stop the :class:`~hub.adapters.signing.simulator.SimulatorServer` serving it.

``GET /_sim/received`` reports the counts; ``POST /_sim/reset`` forgets everything.
Storing is cheap (a dict per item, as parsed) so the simulator keeps up with the
throughput benchmark.

**The transport signature.** Given a :class:`SignatureCheck` (the national roots and,
when known, the department's registered certificate), a far side verifies every
batch's ``Batch-Signature`` as the protocol says, with pyHanko's CMS validation —
real cryptography, the chain to the roots — and refuses a missing or bad one with
401 and the :class:`~hub.adapters.national.protocol.SignatureRefusal` code;
``signed`` counts the batches it accepted so signed, ``signature_refusals`` the
rest. Without one (tests of other matters) it takes batches as they come.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.adapters.national import protocol
from hub.adapters.national.protocol import Rejection, SignatureRefusal

#: What storing one item comes to: its key, and its acknowledgement id or rejection code.
Outcome = tuple[str, str | None, str | None]

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def error(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message}, status)


@dataclass(frozen=True)
class SignatureCheck:
    """What a far side accepts as the department's transport signature: a chain to one of
    ``roots``, and — when ``registered`` is given — one of those certificates exactly."""

    roots: Sequence[x509.Certificate]
    registered: Sequence[x509.Certificate] = ()

    async def refusal(self, body: bytes, header: str | None) -> str | None:
        """The :class:`SignatureRefusal` code for ``header`` over ``body``; None when good."""
        if not header:
            return SignatureRefusal.REQUIRED
        try:
            content = cms.ContentInfo.load(base64.b64decode(header, validate=True))
            signed_data = content["content"]
            if content["content_type"].native != "signed_data":
                return SignatureRefusal.INVALID
            status = await async_validate_detached_cms(
                body,
                signed_data,
                signer_validation_context=ValidationContext(
                    trust_roots=[_asn1(root) for root in self.roots], allow_fetching=False
                ),
            )
        except (ValueError, TypeError, KeyError, binascii.Error):
            return SignatureRefusal.INVALID
        if not (status.intact and status.valid):
            return SignatureRefusal.INVALID
        if not status.trusted:
            return SignatureRefusal.UNTRUSTED
        if self.registered and status.signing_cert.dump() not in {
            c.public_bytes(Encoding.DER) for c in self.registered
        }:
            return SignatureRefusal.NOT_REGISTERED
        return None


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


@dataclass
class FarSideFaults:
    server_error: int | None = None  # every protocol call answers with this status
    fail_next: int = 0  # the next N protocol calls answer 503, then none
    slow_seconds: float = 0.0
    reject: dict[str, str] = field(default_factory=dict)  # item key → rejection code


class FarSide:
    """What every simulated national system shares: faults, idempotent batches, ``/_sim``."""

    def __init__(self, name: str, signatures: SignatureCheck | None = None) -> None:
        self.name = name
        self.signatures = signatures
        self.faults = FarSideFaults()
        self.requests = 0
        self.signed = 0
        self.signature_refusals: list[str] = []
        self._ids = itertools.count(1)
        #: Idempotency key → the answer's bytes, replayed for the same key.
        self.answers: dict[str, bytes] = {}
        self.replays = 0

    def received(self) -> dict[str, Any]:
        """Counts for ``GET /_sim/received``."""
        return {
            "requests": self.requests,
            "batches": len(self.answers),
            "replays": self.replays,
            "signed": self.signed,
            "signatureRefusals": len(self.signature_refusals),
        }

    def reset(self) -> None:
        self.faults = FarSideFaults()
        self.requests = self.replays = self.signed = 0
        self.answers.clear()
        self.signature_refusals.clear()

    def rejection(self, key: str) -> Outcome | None:
        """The injected rejection of ``key``, if any."""
        code = self.faults.reject.get(key)
        return None if code is None else (key, None, code)

    async def batch(
        self,
        request: Request,
        limit: int,
        items_of: Callable[[Any], list[Any]],
        apply: Callable[[Any, str], Outcome],
    ) -> Response:
        """Take one batch idempotently: the first answer to a key is the answer to it;
        a batch not signed as agreed is refused first, a replay included."""
        body = await request.body()
        if self.signatures is not None:
            refused = await self.signatures.refusal(body, request.headers.get(protocol.SIGNATURE))
            if refused is not None:
                self.signature_refusals.append(refused)
                return error(401, refused, protocol.SIGNATURE_MESSAGES[refused])
            self.signed += 1
        # Nothing is awaited from here on: two requests with one key cannot interleave.
        key = request.headers.get(protocol.IDEMPOTENCY_KEY)
        if not key:
            return error(400, "IDEMPOTENCY_KEY_REQUIRED", "Thiếu Idempotency-Key.")
        stored = self.answers.get(key)
        if stored is not None:
            self.replays += 1
            return Response(stored, media_type=JSON, headers={protocol.REPLAYED: "true"})
        try:
            items = items_of(orjson.loads(body))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return error(400, "BAD_REQUEST", "Nội dung không phải một lô hợp lệ.")
        if not isinstance(items, list) or not items:
            return error(400, "BAD_REQUEST", "Lô không có bản ghi nào.")
        if len(items) > limit:
            return error(413, "BATCH_TOO_LARGE", f"Tối đa {limit} bản ghi mỗi lô.")
        batch_id = f"{self.name}-{next(self._ids)}"
        keys, acks, rejected = [], [], []
        for n, item in enumerate(items):
            item_key, ack, code = apply(item, f"{batch_id}-{n}")
            keys.append(item_key)
            acks.append(ack)
            if code is not None:
                message = protocol.rejection_message(code)
                rejected.append({"key": item_key, "code": code, "message": message})
        encoded = orjson.dumps(
            {"batchId": batch_id, "keys": keys, "ackIds": acks, "rejected": rejected}
        )
        self.answers[key] = encoded
        return Response(encoded, media_type=JSON)

    def sim_routes(self) -> list[BaseRoute]:
        """The control routes, mounted under ``/_sim``; a simulator may add its own."""

        async def faults(request: Request) -> Response:
            if request.method == "POST":
                self.faults = FarSideFaults(**orjson.loads(await request.body()))
            return json_response(asdict(self.faults))

        async def received(request: Request) -> Response:
            return json_response(self.received())

        async def reset(request: Request) -> Response:
            self.reset()
            return json_response({"reset": True})

        return [
            Route("/faults", faults, methods=["GET", "POST"]),
            Route("/received", received),
            Route("/reset", reset, methods=["POST"]),
        ]

    def make_app(self, protocol_routes: list[BaseRoute]) -> Starlette:
        app = Starlette(routes=[Mount("/_sim", routes=self.sim_routes()), *protocol_routes])
        app.add_middleware(_FaultMiddleware, far_side=self)
        return app


class _FaultMiddleware:
    """Make protocol calls slow or fail as told; ``/_sim`` is never affected."""

    def __init__(self, app: ASGIApp, far_side: FarSide) -> None:
        self.app = app
        self.far_side = far_side

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        faults = self.far_side.faults
        self.far_side.requests += 1
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        status = faults.server_error
        if status is None and faults.fail_next > 0:
            faults.fail_next -= 1
            status = 503
        if status:
            await error(status, "UNAVAILABLE", "simulated failure")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def valid_personal_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 12 and value.isdigit()


def _accepted(key: str, ack_id: str) -> Outcome:
    return key, ack_id, None


def _rejected(key: str, code: str) -> Outcome:
    return key, None, code


class SectorDatabaseSimulator(FarSide):
    """csdl.moet.gov.vn: student records keyed by personal ID, newest version kept."""

    def __init__(self, signatures: SignatureCheck | None = None) -> None:
        super().__init__("csdl", signatures)
        #: Personal ID → the row as last stored, its acknowledgement id appended.
        self.rows: dict[str, list[Any]] = {}
        self.applied = 0  # records stored
        self.resubmissions = 0  # a record of a version already held, sent under another key
        self.stale = 0  # a record older than the one held (ignored)

    def received(self) -> dict[str, Any]:
        return super().received() | {
            "students": len(self.rows),
            "applied": self.applied,
            "resubmissions": self.resubmissions,
            "stale": self.stale,
            "departed": len(self.departed),
        }

    @property
    def departed(self) -> set[str]:
        """The personal IDs whose latest record says the pupil left the province's schools."""
        return {key for key, row in self.rows.items() if row[protocol.ENROLMENT] == protocol.LEFT}

    def reset(self) -> None:
        super().reset()
        self.rows.clear()
        self.applied = self.resubmissions = self.stale = 0

    @property
    def students(self) -> dict[str, dict[str, Any]]:
        """Each record held, by personal ID, as an object (with its ``ackId``)."""
        fields = (*protocol.STUDENT_FIELDS, "ackId")
        return {key: dict(zip(fields, row, strict=True)) for key, row in self.rows.items()}

    @staticmethod
    def _rows_of(body: Any) -> list[Any]:
        if tuple(body["fields"]) != protocol.STUDENT_FIELDS:
            raise ValueError("unexpected fields")
        rows: list[Any] = body["rows"]
        if any(len(row) != len(protocol.STUDENT_FIELDS) for row in rows):
            raise ValueError("a row of the wrong length")
        return rows

    def _apply(self, row: Any, ack_id: str) -> Outcome:
        key = row[protocol.PERSONAL_ID]
        if not valid_personal_id(key):
            return _rejected(str(key), Rejection.PERSONAL_ID_INVALID)
        if self.faults.reject and (refused := self.rejection(key)):
            return refused
        if not row[protocol.FULL_NAME] or not row[protocol.BIRTH_DATE]:
            return _rejected(key, Rejection.RECORD_INCOMPLETE)
        enrolled = row[protocol.ENROLMENT] == protocol.ENROLLED
        if row[protocol.ENROLMENT] not in (protocol.ENROLLED, protocol.LEFT) or enrolled != bool(
            row[protocol.SCHOOL_CODE]
        ):
            return _rejected(key, Rejection.RECORD_INCOMPLETE)
        version = row[protocol.VERSION]
        held = self.rows.get(key)
        if held is not None and held[protocol.VERSION] >= version:
            if held[protocol.VERSION] == version:
                self.resubmissions += 1
            else:
                self.stale += 1
            return _accepted(key, held[-1])
        row.append(ack_id)
        self.rows[key] = row
        self.applied += 1
        return _accepted(key, ack_id)

    def app(self) -> Starlette:
        async def upsert(request: Request) -> Response:
            return await self.batch(request, protocol.MAX_STUDENTS, self._rows_of, self._apply)

        return self.make_app([Route(protocol.STUDENTS_PATH, upsert, methods=["POST"])])


@dataclass
class StoredTranscript:
    document_id: str
    version: int
    personal_id: str
    school_code: str
    school_year: str
    xml: bytes
    pdf: bytes
    xml_sha256: str
    ack_id: str


class TranscriptStoreSimulator(FarSide):
    """The national transcript store: each transcript version kept once, with its receipt."""

    def __init__(self, signatures: SignatureCheck | None = None) -> None:
        super().__init__("khohocba", signatures)
        self.documents: dict[tuple[str, int], StoredTranscript] = {}
        self.resubmissions = 0

    def received(self) -> dict[str, Any]:
        return super().received() | {
            "documents": len(self.documents),
            "resubmissions": self.resubmissions,
        }

    def reset(self) -> None:
        super().reset()
        self.documents.clear()
        self.resubmissions = 0

    def _apply(self, item: Any, ack_id: str) -> Outcome:
        key = str(item.get("documentId"))
        if self.faults.reject and (refused := self.rejection(key)):
            return refused
        if not valid_personal_id(item.get("personalId")):
            return _rejected(key, Rejection.PERSONAL_ID_INVALID)
        try:
            xml = base64.b64decode(item["xml"], validate=True)
            pdf = base64.b64decode(item["pdf"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            return _rejected(key, Rejection.DOCUMENT_INVALID)
        if not xml or not pdf:
            return _rejected(key, Rejection.DOCUMENT_INVALID)
        if hashlib.sha256(xml).hexdigest() != item.get("xmlSha256"):
            return _rejected(key, Rejection.CHECKSUM_MISMATCH)
        version = int(item["version"])
        held = self.documents.get((key, version))
        if held is not None:
            if held.xml_sha256 != item["xmlSha256"]:
                return _rejected(key, Rejection.DOCUMENT_CONFLICT)
            self.resubmissions += 1
            return _accepted(key, held.ack_id)
        self.documents[(key, version)] = StoredTranscript(
            document_id=key,
            version=version,
            personal_id=item["personalId"],
            school_code=item["schoolCode"],
            school_year=item["schoolYear"],
            xml=xml,
            pdf=pdf,
            xml_sha256=item["xmlSha256"],
            ack_id=ack_id,
        )
        return _accepted(key, ack_id)

    def app(self) -> Starlette:
        async def submit(request: Request) -> Response:
            return await self.batch(
                request, protocol.MAX_TRANSCRIPTS, lambda body: body["items"], self._apply
            )

        return self.make_app([Route(protocol.TRANSCRIPTS_PATH, submit, methods=["POST"])])
