"""Ban Cơ yếu Chính phủ remote signing (RSSP profile): the hub's client, and (in
``simulator``, for the demo and tests only) a simulated service."""

from hub.adapters.signing.base import ProviderEntry
from hub.adapters.signing.bcy.adapter import BcyAdapter, from_config
from hub.domain.enums import SigningProvider

PROVIDER = ProviderEntry(
    provider=SigningProvider.BCY,
    table="bcy",
    build=from_config,
    simulator="hub.adapters.signing.bcy.simulator",
    seed_issuer="CN=CA phục vụ các cơ quan Nhà nước G2 (DEMO), O=Ban Cơ yếu Chính phủ, C=VN",
)

__all__ = ["PROVIDER", "BcyAdapter"]
