"""The school seal on a USB token, through PKCS#11 (PROVIDERS.md).

``adapter`` is the hub's side, for any vendor's PKCS#11 module, with every school's
token behind one adapter. ``simulator`` makes the far side for tests and the demo —
real SoftHSM2 tokens holding seal keys the demo PKI certified — and is imported from
there only, so the hub itself never loads the demo PKI.
"""

from hub.adapters.signing.base import ProviderEntry, Signs
from hub.adapters.signing.pkcs11.adapter import (
    MAX_BATCH,
    Pkcs11Adapter,
    SealTokens,
    digest_info,
    from_config,
)
from hub.domain.enums import SigningProvider

PROVIDER = ProviderEntry(
    provider=SigningProvider.PKCS11,
    table="pkcs11",
    build=from_config,
    simulator="hub.adapters.signing.pkcs11.simulator",
    signs=Signs.SEALS,
    remote=False,
)

__all__ = ["MAX_BATCH", "PROVIDER", "Pkcs11Adapter", "SealTokens", "digest_info"]
