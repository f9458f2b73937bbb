"""What the signing tests share: the sample school's signers, documents signed the way
the hub signs them, the checks every provider's adapter goes through against its
simulator, and every provider's simulator with a jobs worker for the end-to-end tests.

The fixtures here are ordinary pytest fixtures; a test module that wants one binds it
under the same name (``signers = support.signers``, the module imported as
``support``) and pytest finds it there.
"""

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import dramatiq
import httpx
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.hashes import SHA256
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from strawberry.relay import GlobalID

from hub.adapters.signing.base import (
    Credential,
    HealthStatus,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
)
from hub.adapters.signing.pki import GOV, DemoPKI, Issued
from hub.adapters.signing.registry import SigningProviders
from hub.adapters.signing.simulator import (
    Faults,
    Phone,
    PhoneAnswer,
    SimulatedProvider,
    SimulatorServer,
    sign_digest,
)
from hub.auth.access import Caller
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.jobs import simulator_enrolment
from hub.demo.signing import DemoSigning, start_demo_signing
from hub.documents import samples
from hub.domain.enums import OrgLevel, SigningProvider
from hub.domain.problems import Code
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.jobs import signing as batches
from hub.jobs.core import Enrolment, JobRuntime, Next
from hub.signing.pades import PreparedPdf, finish_pdf, prepare_pdf
from hub.signing.service import SigningServices
from hub.signing.setup import signing_services
from hub.signing.trust import TrustStore
from hub.signing.verification import document_kind
from hub.signing.xades import PreparedXml, finish_xml, prepare_xml
from hub.web.app import create_app
from tests.helpers import data, gql

# --- The sample school's signers and signed documents ----------------------------------

#: When the sample signers claim to have signed, where a test fixes it: the first one
#: then, each next one a minute later.
SIGNED_AT = datetime(2026, 5, 31, 9, 30, tzinfo=UTC)
TEACHER_NAME, PRINCIPAL_NAME = "Nguyễn Thị Lan", "Trần Văn Minh"
TEACHER_ID, PRINCIPAL_ID = "001085012345", "001075054321"


def school_signers(pki: DemoPKI) -> list[Issued]:
    """Homeroom teacher, principal and school seal of the sample school, in signing order."""
    school = samples.SCHOOL
    return [
        pki.issue_person(
            GOV, full_name=TEACHER_NAME, personal_id=TEACHER_ID, organisation=school.name
        ),
        pki.issue_person(
            GOV, full_name=PRINCIPAL_NAME, personal_id=PRINCIPAL_ID, organisation=school.name
        ),
        pki.issue_seal(GOV, school_name=school.name, school_code=school.moet_code),
    ]


async def prepare(
    document: bytes,
    role: SignerRole,
    who: Issued,
    *,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
) -> PreparedPdf | PreparedXml:
    """The hub's first step on an XML or PDF transcript: ``role``'s signature by ``who``,
    its digest ready for the provider; a PDF's room for the timestamp sized from the
    ``timestamper`` the second step will use, as the signing service does."""
    if document_kind(document) == "pdf":
        return await prepare_pdf(
            document,
            role=role,
            certificate=who.certificate,
            chain=who.chain,
            signing_time=signing_time,
            timestamper=timestamper,
        )
    return prepare_xml(
        document, role=role, certificate=who.certificate, chain=who.chain, signing_time=signing_time
    )


async def finish(
    prepared: PreparedPdf | PreparedXml,
    signature: bytes,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """The hub's second step: the provider's raw ``signature`` into the document."""
    if isinstance(prepared, PreparedPdf):
        return await finish_pdf(prepared, signature, timestamper=timestamper)
    return await finish_xml(prepared, signature, timestamper=timestamper)


async def sign(
    document: bytes,
    role: SignerRole,
    who: Issued,
    *,
    timestamper: TimeStamper | None = None,
    signing_time: datetime | None = None,
    tsa_known: bool = True,
) -> bytes:
    """``document`` with ``role``'s signature by ``who``: prepare, sign the digest as a
    provider would (:func:`sign_digest`), finish; B-T with a ``timestamper``, else B-B.
    ``tsa_known`` False: the first step is not told the timestamper (its room for the
    token then comes from the document's earlier timestamps)."""
    told = timestamper if tsa_known else None
    prepared = await prepare(document, role, who, signing_time=signing_time, timestamper=told)
    return await finish(prepared, sign_digest(who.key, prepared.digest), timestamper=timestamper)


async def sign_in_turn(
    document: bytes,
    turns: Iterable[tuple[SignerRole, Issued]],
    timestamper: TimeStamper | None = None,
    *,
    signed_at: datetime | None = None,
    tsa_known: bool = True,
) -> bytes:
    """Each (role, signer) signs in the order given: the engines do not enforce RULES.md §4.

    With ``signed_at`` the n-th signer claims to sign n minutes after it; else now.
    """
    for number, (role, who) in enumerate(turns):
        signing_time = signed_at + timedelta(minutes=number) if signed_at else None
        document = await sign(
            document,
            role,
            who,
            timestamper=timestamper,
            signing_time=signing_time,
            tsa_known=tsa_known,
        )
    return document


async def sign_all(
    document: bytes,
    signers: Sequence[Issued],
    timestamper: TimeStamper | None = None,
    *,
    signed_at: datetime | None = None,
    tsa_known: bool = True,
) -> bytes:
    """Signed by ``signers`` in :data:`SIGNING_ORDER`, as :func:`sign_in_turn` does."""
    turns = zip(SIGNING_ORDER, signers, strict=True)
    return await sign_in_turn(
        document, turns, timestamper, signed_at=signed_at, tsa_known=tsa_known
    )


def flip_a_content_byte(pdf: bytes) -> bytes:
    """One byte of the first page's content stream changed. It sits in the unsigned
    revision, so inside every signature's byte range; offsets and lengths unchanged."""
    reader = PdfFileReader(io.BytesIO(pdf))
    contents = reader.root["/Pages"]["/Kids"][0].get_object().raw_get("/Contents")
    reference = contents[0] if isinstance(contents, generic.ArrayObject) else contents
    position = pdf.index(b"stream", pdf.index(b"\n%d 0 obj" % reference.idnum)) + 20
    assert position < pdf.index(b"/ByteRange")  # inside the first revision
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


@pytest.fixture(scope="module")
def signers(pki: DemoPKI) -> list[Issued]:
    """Homeroom teacher, principal and school seal of the sample school, in signing order."""
    return school_signers(pki)


@pytest.fixture(scope="module")
async def basic(unsigned: bytes, signers: list[Issued]) -> bytes:
    """The module's ``unsigned`` document signed by the three in order, B-B: no timestamps."""
    return await sign_all(unsigned, signers, signed_at=SIGNED_AT)


@pytest.fixture(scope="module")
async def timestamped(unsigned: bytes, signers: list[Issued], pki: DemoPKI) -> bytes:
    """As ``basic``, B-T with the demo PKI's in-process TSA."""
    return await sign_all(unsigned, signers, pki.timestamper, signed_at=SIGNED_AT)


# --- Providers' adapters against their simulators --------------------------------------

P = TypeVar("P", bound=SimulatedProvider)


@dataclasses.dataclass
class Simulated(Generic[P]):
    """A provider's simulated back office, served over real HTTP on loopback."""

    back_office: P
    server: SimulatorServer

    def reset(self) -> None:
        """A healthy provider, up, and a signer who confirms after 0.2 s."""
        self.back_office.faults = Faults()
        self.back_office.phone = Phone(confirm_delay=0.2)
        self.server.start()

    async def steer(self, transaction: Transaction, action: str) -> Any:
        """Approve, reject or expire ``transaction`` by hand through ``/_sim``: the answer."""
        async with httpx.AsyncClient(base_url=self.server.url) as control:
            path = f"/_sim/transactions/{transaction.transaction_id}/{action}"
            return (await control.post(path)).json()


@pytest.fixture
async def opened() -> AsyncIterator[list[SigningAdapter]]:
    """Adapters a test opens (it appends them); each is closed after the test."""
    adapters: list[SigningAdapter] = []
    yield adapters
    for adapter in adapters:
        await adapter.aclose()


def stored(transaction: Transaction) -> Transaction:
    """``transaction`` as a job would read it back from the database, to poll after a restart."""
    return dataclasses.replace(transaction, data=dict(transaction.data))


#: Faults on which a provider refuses to sign (attributes of :class:`Faults`), with the
#: hub's code for each.
REFUSING_FAULTS = [
    ("certificate_revoked", Code.CERTIFICATE_REVOKED),
    ("certificate_expired", Code.CERTIFICATE_EXPIRED),
    ("quota_exhausted", Code.QUOTA_EXHAUSTED),
]


#: How the signer's phone may end a transaction without signing: (the phone, the
#: transaction's end, the hub's code).
UNCONFIRMED = [
    (Phone(PhoneAnswer.REJECT, 0.2), TransactionState.REJECTED, Code.SIGNER_REJECTED),
    (
        Phone(PhoneAnswer.IGNORE, expires_after=0.3),
        TransactionState.EXPIRED,
        Code.SIGNER_NOT_CONFIRMED,
    ),
]


def digests(count: int = 3) -> list[bytes]:
    """SHA-256 digests of ``count`` different documents."""
    return [hashlib.sha256(f"học bạ số {n}".encode()).digest() for n in range(count)]


async def settle(adapter: SigningAdapter, transaction: Transaction) -> TransactionResult:
    """Poll as a job would, until the transaction is no longer pending (5 s at most)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        result = await adapter.poll(transaction)
        if result.state is not TransactionState.PENDING:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("still pending after 5 s")


def assert_refusal(error: SigningError, code: Code, provider: SigningProvider) -> SigningError:
    """``error`` is ``code``, and its message names the provider as people know it."""
    assert error.problem.code is code, error.detail
    assert provider.label in error.problem.message
    return error


async def refused(call: Awaitable[object], code: Code, provider: SigningProvider) -> SigningError:
    """The refusal ``call`` raises, checked as :func:`assert_refusal` does."""
    with pytest.raises(SigningError) as caught:
        await call
    return assert_refusal(caught.value, code, provider)


async def assert_ends(
    adapter: SigningAdapter, transaction: Transaction, state: TransactionState, code: Code
) -> None:
    """Polled to its end, ``transaction`` is ``state`` with a refusal ``code``."""
    result = await settle(adapter, transaction)
    assert result.state is state and result.error is not None
    assert_refusal(result.error, code, adapter.provider)


def verify_signatures(
    certificate: x509.Certificate, signatures: Sequence[bytes], sent: Sequence[bytes]
) -> None:
    """One raw value per digest sent (RSA PKCS#1 v1.5), each by ``certificate``'s key."""
    assert len(signatures) == len(sent)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    for signature, digest in zip(signatures, sent, strict=True):
        public_key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(SHA256()))


def assert_signed_by(credential: Credential, result: TransactionResult, sent: list[bytes]) -> None:
    """The transaction is signed, every digest sent with ``credential``'s key."""
    assert result.state is TransactionState.SIGNED, result.error
    verify_signatures(credential.certificate, result.signatures, sent)


async def check_down_and_back(
    adapter: SigningAdapter, server: SimulatorServer, user_id: str
) -> None:
    """A stopped server: a call fails fast as unavailable and health says DOWN; started
    again, health says UP."""
    assert (await adapter.health()).status is HealthStatus.UP
    server.stop()
    try:
        started = time.monotonic()
        await refused(
            adapter.list_credentials(user_id), Code.PROVIDER_UNAVAILABLE, adapter.provider
        )
        assert time.monotonic() - started < 3
        health = await adapter.health()
        assert health.status is HealthStatus.DOWN and health.last_error
    finally:
        server.start()
    health = await adapter.health()
    assert health.status is HealthStatus.UP and health.latency_ms is not None


async def check_server_error(
    adapter: SigningAdapter, back_office: SimulatedProvider, user_id: str, status: int
) -> None:
    """Every call answered with HTTP ``status``: a provider failure that says so, and
    health DEGRADED."""
    back_office.faults.server_error = status
    error = await refused(
        adapter.list_credentials(user_id), Code.PROVIDER_FAILURE, adapter.provider
    )
    assert str(status) in error.detail
    health = await adapter.health()
    assert health.status is HealthStatus.DEGRADED
    assert health.last_error and str(status) in health.last_error


async def check_too_slow(
    adapter: SigningAdapter, back_office: SimulatedProvider, user_id: str, slow: float
) -> None:
    """Answers ``slow`` seconds late, beyond the adapter's timeout: unavailable, and
    the adapter does not wait for them."""
    back_office.faults.slow_seconds = slow
    started = time.monotonic()
    await refused(adapter.list_credentials(user_id), Code.PROVIDER_UNAVAILABLE, adapter.provider)
    assert time.monotonic() - started < slow


async def check_unknown_user(adapter: SigningAdapter, user_id: str) -> None:
    """A user the provider does not know is refused by name."""
    error = await refused(
        adapter.list_credentials(user_id), Code.PROVIDER_USER_UNKNOWN, adapter.provider
    )
    assert user_id in error.problem.message


# --- The hub verifying uploads -----------------------------------------------------------


@pytest.fixture(scope="module")
def trust(pki: DemoPKI) -> TrustStore:
    """A trust store of the demo PKI's roots."""
    return TrustStore(pki.roots)


@pytest.fixture(scope="module")
async def verifier(
    settings: Settings, db: Database, trust: TrustStore
) -> AsyncIterator[httpx.AsyncClient]:
    """The hub with verification configured (a trust store; no signing provider needed)."""
    signing = SigningServices(providers=SigningProviders({}), trust=trust, timestamper=None)
    app = create_app(settings, db, signing=signing)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


# --- Every provider's simulator, and a jobs worker, for the end-to-end tests ------------


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoSigning]:
    """Every provider's simulator on loopback (the demo's), signers confirming in 0.2 s."""
    suite = start_demo_signing(tmp_path_factory.mktemp("signing"), confirm_delay=0.2)
    yield suite
    await suite.aclose()


def redis_url() -> str:
    """The Redis the jobs tests use (``HUB_TEST_REDIS_URL``), which must answer."""
    url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as error:  # never skip: the jobs need a real broker
        raise AssertionError(f"Redis is not reachable at {url}: start it (.ci/run does)") from error
    return url


def jobs_settings(settings: Settings, **changes: Any) -> Settings:
    """``settings`` for a worker on the test broker, in queues of its own (a fresh
    namespace) and quick to notice a stalled job; ``changes`` on top."""
    update = {
        "redis_url": redis_url(),
        "jobs_namespace": f"hub-test-{uuid.uuid4().hex[:8]}",
        "jobs_stall_seconds": 2.0,
    }
    return settings.model_copy(update=update | changes)


def signing_runtime(
    settings: Settings,
    demo: DemoSigning,
    directory: Path,
    *,
    enrolment: Enrolment | None = None,
    **changes: Any,
) -> JobRuntime:
    """A worker's runtime signing through ``demo``'s simulators: its own database engine
    and provider clients, as a ``hub worker`` process configured by
    :meth:`DemoSigning.worker_environment` has. The providers file written under
    ``directory`` names the seal tokens and CSC PINs of the people and schools enrolled
    so far: make the runtime after enrolling the schools its jobs sign for. ``changes``
    to the worker's settings on top."""
    environment = demo.worker_environment(directory)
    worker = jobs_settings(
        settings,
        jobs_poll_seconds=0.2,
        signing_providers_file=Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
        tsa_url=environment["HUB_TSA_URL"],
        trust_roots=[Path(p) for p in json.loads(environment["HUB_TRUST_ROOTS"])],
        **changes,
    )
    signing = signing_services(worker)
    assert signing is not None
    return JobRuntime(worker, Database(worker.database_url), signing, enrolment=enrolment)


def enrolling_runtime(settings: Settings, demo: DemoSigning, directory: Path) -> JobRuntime:
    """:func:`signing_runtime` enrolling people at ``demo``'s simulators, its watchdog
    starting no certificate refresh by itself: every run is a test's."""
    return signing_runtime(
        settings,
        demo,
        directory,
        enrolment=simulator_enrolment(demo),
        certificate_refresh_hours=0,
    )


@contextlib.asynccontextmanager
async def running_worker(
    runtime: JobRuntime, *, threads: int = 4
) -> AsyncIterator[dramatiq.Worker]:
    """A Dramatiq worker in this process (its own event loop), on a broker for
    ``runtime``'s settings made the global one; stopped, and its queues emptied, after."""
    from hub.jobs import actors

    broker = actors.configure(runtime.settings, runtime)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
        # The engine's connections were opened on the worker's event loop, stopped now:
        # let them go without closing them from this one.
        await runtime.db.engine.dispose(close=False)


@pytest.fixture
async def worker(
    settings: Settings, demo: DemoSigning, school: Any, tmp_path: Path
) -> AsyncIterator[dramatiq.Worker]:
    """A Dramatiq worker in this process, on a real Redis under a namespace of its own:
    its own event loop, database engine and provider adapters, as a worker process has,
    signing through the module's ``demo`` for the test's ``school`` (enrolled first: the
    providers file the worker reads names the credentials enrolled by then)."""
    runtime = signing_runtime(settings, demo, tmp_path / "worker")
    async with running_worker(runtime) as started:
        yield started


# --- Signing through the hub's GraphQL API ---------------------------------------------

REQUEST = """mutation($ids: [ID!]!, $role: SignerRole!, $signer: String) {
  requestTranscriptSignatures(transcriptIds: $ids, role: $role, signerPersonalId: $signer) {
    requestId role provider state transcripts transactionId expiresAt } }"""
COMPLETE = """mutation($r: String!) { completeTranscriptSignatures(requestId: $r) {
  requestId state transcripts signed errorCode errorMessage } }"""
START = """mutation($role: SignerRole!, $c: ID, $s: ID) {
  startSigningBatch(role: $role, classId: $c, schoolId: $s) { jobId state total queued } }"""
BATCH = """query($j: String!) { signingBatch(jobId: $j) {
  jobId state reasonCode reason total signed returned failed queued waiting
  waitingFor { provider transactionId expiresAt }
  items { transcriptId state reasonCode reason } } }"""


def gid(transcript_id: int) -> str:
    """The transcript's GraphQL id."""
    return str(GlobalID("Transcript", str(transcript_id)))


async def sign_through_hub(
    hub: httpx.AsyncClient,
    token: str,
    ids: Sequence[int],
    role: str,
    signer: str | None = None,
) -> dict[str, Any]:
    """Request ``role``'s signature on the transcripts, then poll until the simulated
    phone has answered: the completed request."""
    variables = {"ids": [gid(i) for i in ids], "role": role, "signer": signer}
    requested = data(await gql(hub, token, REQUEST, variables))["requestTranscriptSignatures"]
    assert requested["state"] == "PENDING"
    assert requested["transcripts"] == len(ids)
    return await until_answered(hub, token, requested["requestId"])


async def until_answered(hub: httpx.AsyncClient, token: str, request_id: str) -> dict[str, Any]:
    """Poll the signing request until the simulated phone has answered: the completed
    request."""
    for _ in range(100):
        done = data(await gql(hub, token, COMPLETE, {"r": request_id}))
        result: dict[str, Any] = done["completeTranscriptSignatures"]
        if result["state"] != "PENDING":
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("the provider never answered")


async def until_done(
    hub: httpx.AsyncClient, token: str, job_id: str, seconds: float = 30
) -> dict[str, Any]:
    """The signing batch once it is COMPLETED or CANCELLED."""
    for _ in range(int(seconds / 0.1)):
        batch: dict[str, Any] = data(await gql(hub, token, BATCH, {"j": job_id}))["signingBatch"]
        if batch["state"] in ("COMPLETED", "CANCELLED"):
            return batch
        await asyncio.sleep(0.1)
    raise AssertionError(f"batch did not finish: {batch}")


async def class_batch(
    db: Database,
    demo: DemoSigning,
    *,
    school_id: int,
    class_id: int,
    client_id: str = "school-app",
    role: SignerRole = SignerRole.HOMEROOM_TEACHER,
) -> tuple[models.Job, list[Next]]:
    """A batch of ``role`` (the homeroom teacher's unless said) for one class started by
    the school's app on its own, as the demo allows (naming the role holder: these tests
    are about the batch, not about who may start one), and the messages it asks for,
    not yet sent."""
    app = Caller(
        client_id,
        frozenset({"transcripts:read", "transcripts:write", "transcripts:sign"}),
        OrgLevel.SCHOOL,
        frozenset({school_id}),
    )
    async with db.unit_of_work() as session:
        return await batches.start_batch(
            session,
            caller=app,
            signing=demo.signing,
            role=role,
            class_id=class_id,
            apps_may_name_signers=True,
        )
