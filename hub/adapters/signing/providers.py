"""The signing providers the hub knows: one :class:`~hub.adapters.signing.base.ProviderEntry`
each, the one place a provider plugs in.

Each provider's folder (``bcy/``, ``smartca/`` …) defines its entry as ``PROVIDER`` in
its ``__init__``; the line for it in :data:`BUILT_IN` is all that registers it.
Everything that used to name providers one by one (the providers file, the demo,
the seed, the provider migration's enrolment, the contract tests) loops over
:func:`registered` instead. A test may :func:`register` a provider of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.adapters.signing import bcy, csc, mysign, pkcs11, smartca
from hub.adapters.signing.base import ProviderEntry
from hub.domain.enums import SigningProvider

#: The providers this hub ships with, in the order they are listed and configured.
BUILT_IN: tuple[ProviderEntry, ...] = (
    bcy.PROVIDER,
    smartca.PROVIDER,
    mysign.PROVIDER,
    csc.PROVIDER,
    pkcs11.PROVIDER,
)

_entries: dict[str, ProviderEntry] = {entry.provider.value: entry for entry in BUILT_IN}


def registered() -> list[ProviderEntry]:
    """Every registered provider's entry."""
    return list(_entries.values())


def entry_of(provider: SigningProvider | str) -> ProviderEntry:
    """The entry of ``provider`` (or of the provider whose name is that string)."""
    name = provider.value if isinstance(provider, SigningProvider) else str(provider)
    try:
        return _entries[name]
    except KeyError:
        raise LookupError(f"no signing provider {name!r} is registered") from None


@contextmanager
def register(entry: ProviderEntry) -> Iterator[ProviderEntry]:
    """``entry`` registered for the duration of the ``with`` block (tests' own providers)."""
    name = entry.provider.value
    if name in _entries:
        raise ValueError(f"a signing provider {name!r} is already registered")
    _entries[name] = entry
    try:
        yield entry
    finally:
        del _entries[name]
