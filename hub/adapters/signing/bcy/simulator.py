"""Ban Cơ yếu Chính phủ's remote signing service, simulated at ``/rssp/v1``.

It speaks the RSSP profile of :mod:`hub.adapters.signing.bcy.protocol`: relying
parties log in with their registered key (``SSL2``), signers are named by
``userID``, keys and certificates come from the demo PKI's Government CA
(``CA phục vụ các cơ quan Nhà nước G2 (DEMO)``), and ``credentials/authorize``
puts the request on the simulated phone. The HSM signs when the signer approves;
``signatures/signHash`` hands those signatures over against the SAD, and, being
bound to the approved digests, a SAD may be spent again until it expires, so a
poll that lost signHash's answer can ask once more.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount

from hub.adapters.signing.bcy import PROVIDER
from hub.adapters.signing.bcy.adapter import BcyAdapter
from hub.adapters.signing.bcy.protocol import (
    MAX_SKEW,
    SSL2,
    AuthorizationStatus,
    AuthorizationStatusRequest,
    AuthorizeRequest,
    PendingAuthorization,
    SignHashRequest,
    Ssl2Error,
    UserCredentialsInfoRequest,
    UserCredentialsListRequest,
    ssl2_relying_party,
)
from hub.adapters.signing.csc.protocol import (
    CredentialsInfoResponse,
    CredentialsListResponse,
    InfoRequest,
    InfoResponse,
    LoginRequest,
    LoginResponse,
    SignHashResponse,
    b64,
)
from hub.adapters.signing.csc.simulator import (
    SAD_LIFETIME,
    TokenStore,
    cert_info,
    decode_hashes,
    key_info,
    protocol_route,
    raise_if_refused,
    require_rsa,
)
from hub.adapters.signing.pki import GOV, DemoPKI, key_pem, new_key
from hub.adapters.signing.simulator import (
    Phone,
    SimCredential,
    SimError,
    SimState,
    SimTransaction,
    SimulatedProvider,
    Simulation,
    SimulatorServer,
    person_enrolment,
)

BASE_PATH = "/rssp/v1"


class _BcyService:
    """The RSSP API over one back office: relying parties' tokens and the SADs issued."""

    def __init__(
        self,
        provider: SimulatedProvider,
        relying_parties: Mapping[str, rsa.RSAPublicKey],
        max_skew: float,
        token_lifetime: float,
    ) -> None:
        self.provider = provider
        self.relying_parties = dict(relying_parties)
        self.max_skew = max_skew
        self.tokens = TokenStore(token_lifetime)
        #: SAD → (authorisation it was issued for, when it stops being accepted)
        self.sads: dict[str, tuple[str, float]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(
                BASE_PATH,
                routes=[
                    protocol_route("/info", InfoRequest, self.info),
                    protocol_route("/auth/login", LoginRequest, self.login),
                    protocol_route(
                        "/credentials/list", UserCredentialsListRequest, self.credentials_list
                    ),
                    protocol_route(
                        "/credentials/info", UserCredentialsInfoRequest, self.credentials_info
                    ),
                    protocol_route("/credentials/authorize", AuthorizeRequest, self.authorize),
                    protocol_route(
                        "/credentials/authorize/status",
                        AuthorizationStatusRequest,
                        self.authorization_status,
                    ),
                    protocol_route("/signatures/signHash", SignHashRequest, self.sign_hash),
                ],
            )
        ]

    def _credential(self, request: Request, user_id: str, credential_id: str) -> SimCredential:
        self.tokens.subject(request)
        self.provider.subscriber(user_id)
        return self.provider.credential(credential_id, user_id)

    async def info(self, request: Request, payload: InfoRequest) -> InfoResponse:
        return InfoResponse(
            specs="2.0.0.2",
            name=self.provider.name,
            region="VN",
            lang="vi-VN",
            description="Dịch vụ ký số từ xa chuyên dùng Chính phủ, mô phỏng (DEMO)",
            authType=[SSL2],
            methods=[
                "auth/login",
                "credentials/list",
                "credentials/info",
                "credentials/authorize",
                "credentials/authorize/status",
                "signatures/signHash",
            ],
        )

    async def login(self, request: Request, payload: LoginRequest) -> LoginResponse:
        try:
            relying_party = ssl2_relying_party(
                request.headers.get("authorization", ""),
                self.relying_parties,
                now=time.time(),
                max_skew=self.max_skew,
            )
        except Ssl2Error as error:
            raise SimError("BAD_CLIENT", str(error)) from error
        return self.tokens.issue(relying_party)

    async def credentials_list(
        self, request: Request, payload: UserCredentialsListRequest
    ) -> CredentialsListResponse:
        self.tokens.subject(request)
        subscriber = self.provider.subscriber(payload.userID)
        return CredentialsListResponse(
            credentialIDs=[c.credential_id for c in subscriber.credentials]
        )

    async def credentials_info(
        self, request: Request, payload: UserCredentialsInfoRequest
    ) -> CredentialsInfoResponse:
        credential = self._credential(request, payload.userID, payload.credentialID)
        return CredentialsInfoResponse(
            key=key_info(credential),
            cert=cert_info(self.provider, credential, payload),
            SCAL="2",
            multisign=self.provider.max_batch,
        )

    async def authorize(self, request: Request, payload: AuthorizeRequest) -> PendingAuthorization:
        credential = self._credential(request, payload.userID, payload.credentialID)
        digests = decode_hashes(
            payload.documentDigests.hashes, payload.documentDigests.hashAlgorithmOID
        )
        if len(digests) != payload.numSignatures:
            raise SimError("BAD_REQUEST", "numSignatures must equal the number of hashes")
        transaction = self.provider.open_transaction(
            credential, digests, [payload.description or ""]
        )
        return PendingAuthorization(
            authorizationID=transaction.transaction_id,
            expiresIn=round(self.provider.phone.expires_after),
        )

    async def authorization_status(
        self, request: Request, payload: AuthorizationStatusRequest
    ) -> AuthorizationStatus:
        self.tokens.subject(request)
        transaction = self.provider.transaction(payload.authorizationID)
        raise_if_refused(transaction)
        if transaction.state is SimState.PENDING:
            return AuthorizationStatus(status="PENDING")
        sad = transaction.extra.get("sad")
        if sad is None:
            sad = transaction.extra["sad"] = secrets.token_urlsafe(32)
            self.sads[sad] = (transaction.transaction_id, time.monotonic() + SAD_LIFETIME)
        remaining = self.sads[sad][1] - time.monotonic()
        if remaining <= 0:
            raise SimError("EXPIRED", "The authorisation was not used in time")
        return AuthorizationStatus(status="AUTHORIZED", SAD=sad, expiresIn=round(remaining))

    async def sign_hash(self, request: Request, payload: SignHashRequest) -> SignHashResponse:
        self.tokens.subject(request)
        require_rsa(payload.signAlgo)
        digests = decode_hashes(
            payload.documentDigests.hashes, payload.documentDigests.hashAlgorithmOID
        )
        transaction = self._authorised(payload.SAD, payload.credentialID)
        if digests != transaction.digests:
            raise SimError("BAD_SAD", "The SAD does not cover these hashes")
        return SignHashResponse(signatures=[b64(s) for s in transaction.signatures])

    def _authorised(self, sad: str, credential_id: str) -> SimTransaction:
        """The approved authorisation a SAD was issued for, if it is still good."""
        authorisation_id, expires = self.sads.get(sad, ("", 0.0))
        if time.monotonic() >= expires:
            raise SimError("BAD_SAD", "Invalid or expired SAD")
        transaction = self.provider.transaction(authorisation_id)
        if transaction.credential.credential_id != credential_id:
            raise SimError("BAD_SAD", "The SAD was issued for another credential")
        return transaction


def create_simulator(
    pki: DemoPKI,
    *,
    relying_parties: Mapping[str, rsa.RSAPublicKey],
    max_skew: float = MAX_SKEW,
    max_batch: int = 50,
    token_lifetime: float = 3600.0,
) -> tuple[SimulatedProvider, Starlette]:
    """Ban Cơ yếu's back office and its app; serve the app with ``SimulatorServer``.

    ``relying_parties`` maps each registered relying party's ID to its public key.
    """
    provider = SimulatedProvider("Ban Cơ yếu Chính phủ (DEMO)", pki, GOV, max_batch=max_batch)
    service = _BcyService(provider, relying_parties, max_skew, token_lifetime)
    return provider, provider.app(service.routes())


#: The relying party the demo and the contract tests register with the simulator.
RELYING_PARTY = "hub-demo"


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """Ban Cơ yếu's service on loopback, relying party :data:`RELYING_PARTY` registered
    with a key of its own."""
    key = new_key()
    back_office, app = create_simulator(pki, relying_parties={RELYING_PARTY: key.public_key()})
    back_office.phone = Phone(confirm_delay=confirm_delay)
    server = SimulatorServer(app).start()
    url = server.url + BASE_PATH

    def connect(**options: Any) -> BcyAdapter:
        return BcyAdapter(
            **{"base_url": url, "rp_id": RELYING_PARTY, "rp_key_pem": key_pem(key), **options}
        )

    def config(directory: Path) -> dict[str, Any]:
        key_file = directory / "bcy-relying-party.pem"
        key_file.write_bytes(key_pem(key))
        key_file.chmod(0o600)
        return {"url": url, "rp_id": RELYING_PARTY, "rp_key_file": str(key_file)}

    return Simulation(
        entry=PROVIDER,
        back_office=back_office,
        server=server,
        connect=connect,
        misconfigured={"rp_key_pem": key_pem(new_key())},  # a key Ban Cơ yếu never saw
        config=config,
        enrol=person_enrolment(PROVIDER, back_office),
    )
