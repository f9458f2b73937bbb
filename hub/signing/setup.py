"""Build the trust store and the signing services from the settings (production)."""

from __future__ import annotations

import tomllib

import aiohttp
from asn1crypto import tsp
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession

from hub.adapters.signing.base import SigningAdapter
from hub.adapters.signing.providers import registered
from hub.adapters.signing.registry import SigningProviders
from hub.config import Settings
from hub.domain.enums import SigningProvider
from hub.signing.service import SigningServices
from hub.signing.timestamp_requests import TemplateRequests
from hub.signing.trust import trust_store


def timestamper(url: str) -> HTTPTimeStamper:
    """An RFC 3161 client keeping one HTTP session for its event loop.

    pyHanko's default opens a session (and builds a TLS context) for every
    timestamp — tens of milliseconds, twice per transcript in a bulk batch.
    """
    return _KeptAliveTimeStamper(url, session=LazySession())


class _KeptAliveTimeStamper(TemplateRequests, HTTPTimeStamper):
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


def signing_services(settings: Settings) -> SigningServices | None:
    """Adapters from the providers file (``HUB_SIGNING_PROVIDERS_FILE``), or None.

    The file is TOML, one table per provider, named by its registry entry's ``table``
    and built by its ``build`` (each provider's folder lists its keys); secrets are
    included, so keep it readable by the hub's user only::

        [bcy]
        url = "https://rssp.example.gov.vn/rssp/v1"
        rp_id = "sgddt-hanoi"
        rp_key_file = "/etc/hub/bcy-relying-party.pem"

        [smartca]                  # api = "gateway" for the CSC-style gateway:
        url = "https://gwsca.vnpt.vn/sca/sp769"   # client_id, client_secret and
        sp_id = "…"                # user_passwords = { "<personal ID>" = "…" }
        sp_password = "…"

        [mysign]
        url = "https://remotesigning.viettel.vn"
        client_id = "…"
        client_secret = "…"
        profile_id = "adss:ras:profile:001"

        [csc]                      # any CSC server; see hub.adapters.signing.csc.adapter
        url = "https://csc.example.vn/csc/v2"
        version = "v2"
        operation_mode = "A"
        auth = "oauth2client"      # or external, basic, oauth2code, TLS (default: any
        client_id = "…"            # the server offers that this table has material for)
        client_secret = "…"        # the client also lets signers consent in their browser
                                   # (oauth2code credentials): the server must register
                                   # <HUB_PUBLIC_URL>/sign/authorized as its redirect URI
        pins = { "<credential ID>" = "…" }   # sent only to credentials that ask

        [pkcs11.01LB0101]          # one table per school (ministry code)
        module = "/usr/lib/x86_64-linux-gnu/libeToken.so"
        token_label = "SEAL-01LB0101"
        pin = "…"
        environment = { }          # variables the module reads when loaded, if any

    A table no registered provider claims is refused, so a misspelt one is not
    silently ignored.
    """
    if settings.signing_providers_file is None:
        return None
    config = tomllib.loads(settings.signing_providers_file.read_text())
    entries = {entry.table: entry for entry in registered()}
    unknown = sorted(set(config) - set(entries))
    if unknown:
        raise ValueError(
            f"{settings.signing_providers_file}: no signing provider is called "
            f"{', '.join(unknown)} (known: {', '.join(entries)})"
        )
    adapters: dict[SigningProvider, SigningAdapter] = {
        entries[table].provider: entries[table].build(section) for table, section in config.items()
    }
    return SigningServices(
        providers=SigningProviders(adapters),
        trust=trust_store(settings),
        timestamper=timestamper(settings.tsa_url) if settings.tsa_url else None,
    )
