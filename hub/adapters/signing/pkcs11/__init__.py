"""The school seal on a USB token, through PKCS#11 (PROVIDERS.md).

``adapter`` is the hub's side, for any vendor's PKCS#11 module. ``token`` makes
the far side for tests and the demo — a real SoftHSM2 token holding a seal key
the demo PKI certified — and is imported from there, so the hub itself never
loads the demo PKI.
"""

from hub.adapters.signing.pkcs11.adapter import MAX_BATCH, Pkcs11Adapter, digest_info

__all__ = ["MAX_BATCH", "Pkcs11Adapter", "digest_info"]
