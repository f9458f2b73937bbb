"""A standard OpenID provider (the province's SSO, Keycloak brokering VNeID…): the
discovery document the hub reads in :mod:`.protocol`, the hub's client in
:mod:`.adapter`, the far side in :mod:`.simulator` (tests and the demo only)."""

from hub.adapters.identity.oidc.adapter import OIDCProvider, from_settings

__all__ = ["OIDCProvider", "from_settings"]
