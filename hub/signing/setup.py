"""Build the trust store and the signing services from the settings (production)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

import aiohttp
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession

from hub.adapters.signing.base import SigningAdapter
from hub.adapters.signing.bcy import BcyAdapter
from hub.adapters.signing.csc import CscAccount, CscAdapter
from hub.adapters.signing.mysign import MySignAdapter
from hub.adapters.signing.pkcs11 import Pkcs11Adapter
from hub.adapters.signing.pkcs11.tokens import SealTokens
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.registry import SigningProviders
from hub.adapters.signing.smartca import SmartCaAdapter
from hub.config import Mode, Settings
from hub.domain.enums import SigningProvider
from hub.signing.service import SigningServices
from hub.signing.trust import TrustStore


def timestamper(url: str) -> HTTPTimeStamper:
    """An RFC 3161 client keeping one HTTP session for its event loop.

    pyHanko's default opens a session (and builds a TLS context) for every
    timestamp — tens of milliseconds, twice per transcript in a bulk batch.
    """
    return _KeptAliveTimeStamper(url, session=LazySession())


class _KeptAliveTimeStamper(HTTPTimeStamper):
    """pyHanko's RFC 3161 client, sending a request again when its kept-alive
    connection turns out closed.

    A TSA closes connections that sat idle (uvicorn after 5 s); a request written
    to one as it closes fails ("Server disconnected") without reaching the TSA.
    Asking again on a fresh connection is harmless: a timestamp request changes
    nothing at the TSA, and nothing was written yet.
    """

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        for _ in range(STALE_CONNECTION_RETRIES):
            try:
                return await super().async_request_tsa_response(req)
            except TimestampRequestError as error:
                if not isinstance(
                    error.__cause__, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError
                ):
                    raise
        return await super().async_request_tsa_response(req)


#: Several pooled connections can have gone stale at once (documents are finished side
#: by side): each try may meet another one.
STALE_CONNECTION_RETRIES = 3


def trust_store(
    settings: Settings, *, extra: Iterable[Path] = (), fetch_revocation: bool = True
) -> TrustStore:
    """The configured roots, plus ``extra`` PEM files, plus the demo roots in demo mode."""
    files = [*settings.trust_roots, *extra]
    store = TrustStore.from_pem_files(files, fetch_revocation=fetch_revocation)
    if settings.mode is Mode.DEMO and (settings.demo_pki_dir / "pki.json").exists():
        store = TrustStore(
            [*store.roots, *DemoPKI.load(settings.demo_pki_dir).roots],
            fetch_revocation=fetch_revocation,
        )
    return store


def signing_services(settings: Settings) -> SigningServices | None:
    """Adapters from the providers file (``HUB_SIGNING_PROVIDERS_FILE``), or None.

    The file is TOML, one table per provider, secrets included — keep it
    readable by the hub's user only::

        [bcy]
        url = "https://rssp.example.gov.vn/rssp/v1"
        rp_id = "sgddt-hanoi"
        rp_key_file = "/etc/hub/bcy-relying-party.pem"

        [smartca]
        url = "https://gwsca.vnpt.vn/sca/sp769"
        sp_id = "…"
        sp_password = "…"

        [mysign]
        url = "https://remotesigning.viettel.vn"
        client_id = "…"
        client_secret = "…"
        profile_id = "adss:ras:profile:001"

        [csc]
        url = "https://csc.example.vn/csc/v2"
        version = "v2"
        operation_mode = "A"
        username = "…"
        password = "…"

        [pkcs11.01LB0101]          # one table per school (ministry code)
        module = "/usr/lib/x86_64-linux-gnu/libeToken.so"
        token_label = "SEAL-01LB0101"
        pin = "…"
        environment = { }          # variables the module reads when loaded, if any
    """
    if settings.signing_providers_file is None:
        return None
    config = tomllib.loads(settings.signing_providers_file.read_text())
    adapters: dict[SigningProvider, SigningAdapter] = {}
    if "bcy" in config:
        entry = config["bcy"]
        adapters[SigningProvider.BCY] = BcyAdapter(
            entry["url"], rp_id=entry["rp_id"], rp_key_pem=Path(entry["rp_key_file"]).read_bytes()
        )
    if "smartca" in config:
        entry = config["smartca"]
        adapters[SigningProvider.SMARTCA] = SmartCaAdapter(
            entry["url"], entry["sp_id"], entry["sp_password"]
        )
    if "mysign" in config:
        entry = config["mysign"]
        adapters[SigningProvider.MYSIGN] = MySignAdapter(
            entry["url"], entry["client_id"], entry["client_secret"], entry["profile_id"]
        )
    if "csc" in config:
        entry = config["csc"]
        pins: dict[str, str] = entry.get("pins", {})
        adapters[SigningProvider.CSC] = CscAdapter(
            entry["url"],
            account=CscAccount(entry["username"], entry["password"]),
            pins=pins,
            version=entry.get("version", "v2"),
            operation_mode=entry.get("operation_mode", "S"),
        )
    if "pkcs11" in config:
        adapters[SigningProvider.PKCS11] = SealTokens(
            {
                school: Pkcs11Adapter(
                    module_path=entry["module"],
                    token_label=entry["token_label"],
                    user_pin=entry["pin"],
                    environment=entry.get("environment"),
                )
                for school, entry in config["pkcs11"].items()
            }
        )
    return SigningServices(
        providers=SigningProviders(adapters),
        trust=trust_store(settings),
        timestamper=timestamper(settings.tsa_url) if settings.tsa_url else None,
    )
