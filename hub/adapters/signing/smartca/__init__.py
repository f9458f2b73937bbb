"""VNPT SmartCA: SP769 and the CSC-style gateway, their protocol, the hub's clients, and
(in ``simulator``, for the demo and tests only) a simulator of both."""

from hub.adapters.signing.base import ProviderEntry
from hub.adapters.signing.smartca.adapter import (
    GATEWAY,
    SP769,
    AutomationAccount,
    SmartCaAdapter,
    SmartCaGatewayAdapter,
    from_config,
)
from hub.domain.enums import SigningProvider

PROVIDER = ProviderEntry(
    provider=SigningProvider.SMARTCA,
    table="smartca",
    build=from_config,
    simulator="hub.adapters.signing.smartca.simulator",
    variants=(SP769, GATEWAY),
    seed_issuer="CN=VNPT Certification Authority (DEMO), O=VNPT Group, C=VN",
)

__all__ = ["PROVIDER", "AutomationAccount", "SmartCaAdapter", "SmartCaGatewayAdapter"]
