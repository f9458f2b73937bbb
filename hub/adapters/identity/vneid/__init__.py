"""VNeID-style SSO (Ministry of Public Security, C06): people sign in with their
electronic identity account.

:mod:`.protocol` writes the wire format down once, :mod:`.adapter` is the hub's
client (:class:`VNeIDProvider`, built by :func:`from_settings`) and
:mod:`.simulator` the far side on loopback for the demo and the tests — production
never imports it.
"""

from hub.adapters.identity.vneid.adapter import VNeIDProvider, from_settings, load_rp_key

__all__ = ["VNeIDProvider", "from_settings", "load_rp_key"]
