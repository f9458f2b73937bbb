"""The identity providers this hub is configured with, by name: the one plug-in point.

Each provider's module decides from the settings whether it is configured
(``from_settings`` answers None when not); this registry only gathers them, in
the order the sign-in page shows them: VNeID first, then a standard OpenID provider.
A new kind of provider is a folder beside ``vneid/`` and ``oidc/`` and one line in
:data:`BUILDERS` (ARCHITECTURE.md).
"""

from collections.abc import Callable

from hub.adapters.identity.base import IdentityProvider
from hub.adapters.identity.oidc.adapter import from_settings as oidc_from_settings
from hub.adapters.identity.vneid import from_settings as vneid_from_settings
from hub.config import Settings

BUILDERS: tuple[Callable[[Settings], IdentityProvider | None], ...] = (
    vneid_from_settings,
    oidc_from_settings,
)


def configured(settings: Settings) -> dict[str, IdentityProvider]:
    """Every configured identity provider, by its :attr:`~IdentityProvider.name`.

    A half-written configuration raises (``RuntimeError``) so the hub does not start
    with a sign-in that fails at the first person.
    """
    providers: dict[str, IdentityProvider] = {}
    for build in BUILDERS:
        provider = build(settings)
        if provider is not None:
            providers[provider.name] = provider
    return providers
