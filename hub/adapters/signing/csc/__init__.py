"""Cloud Signature Consortium API (v1 and v2): the hub's client, and (in ``simulator``,
for the demo and tests only) a simulated server."""

from hub.adapters.signing.base import ProviderEntry
from hub.adapters.signing.csc.adapter import (
    ClientCertificate,
    CscAccount,
    CscAdapter,
    OAuthClient,
    OAuthTokens,
    PinSource,
    from_config,
)
from hub.domain.enums import SigningProvider

PROVIDER = ProviderEntry(
    provider=SigningProvider.CSC,
    table="csc",
    build=from_config,
    simulator="hub.adapters.signing.csc.simulator",
)

__all__ = [
    "PROVIDER",
    "ClientCertificate",
    "CscAccount",
    "CscAdapter",
    "OAuthClient",
    "OAuthTokens",
    "PinSource",
]
