"""The identity providers this hub is configured with, by name.

Each provider's module decides from the settings whether it is configured
(``from_settings`` answers None when not); this registry only gathers them, in
the order the sign-in page shows them: VNeID first, then a standard OpenID provider.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from hub.adapters.identity.base import IdentityProvider
from hub.adapters.identity.vneid import from_settings as vneid_from_settings
from hub.config import Settings

#: The standard OpenID provider's module, imported only when needed.
OIDC_MODULE = "hub.adapters.identity.oidc.adapter"


def configured(settings: Settings) -> dict[str, IdentityProvider]:
    """Every configured identity provider, by its :attr:`~IdentityProvider.name`.

    A half-written configuration raises (``RuntimeError``) so the hub does not start
    with a sign-in that fails at the first person.
    """
    builders: list[Callable[[Settings], IdentityProvider | None]] = [vneid_from_settings]
    try:
        builders.append(importlib.import_module(OIDC_MODULE).from_settings)
    except ModuleNotFoundError as error:
        # Only the adapter's own absence is skipped; a dependency it lacks is a fault.
        if error.name not in {OIDC_MODULE, OIDC_MODULE.rpartition(".")[0]}:
            raise
    providers: dict[str, IdentityProvider] = {}
    for build in builders:
        provider = build(settings)
        if provider is not None:
            providers[provider.name] = provider
    return providers
