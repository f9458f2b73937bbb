"""Build the trust store and the signing services from the settings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hub.adapters.signing.pki import DemoPKI
from hub.config import Mode, Settings
from hub.signing.trust import TrustStore


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
