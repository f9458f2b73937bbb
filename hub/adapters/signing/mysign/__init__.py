"""Viettel-CA MySign: its protocol, the hub's client, and (in ``simulator``, for the demo
and tests only) a simulator of Viettel's side."""

from hub.adapters.signing.base import ProviderEntry
from hub.adapters.signing.mysign.adapter import MySignAdapter, from_config, mysign_user_id
from hub.domain.enums import SigningProvider

PROVIDER = ProviderEntry(
    provider=SigningProvider.MYSIGN,
    table="mysign",
    build=from_config,
    simulator="hub.adapters.signing.mysign.simulator",
    user_id=mysign_user_id,
    seed_issuer="CN=Viettel-CA (DEMO), O=Viettel Group, C=VN",
)

__all__ = ["PROVIDER", "MySignAdapter", "mysign_user_id"]
