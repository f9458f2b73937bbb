"""What the hub reads of a standard OpenID provider: its discovery document.

OpenID Connect Discovery 1.0 publishes every endpoint at
``{issuer}/.well-known/openid-configuration``; the hub keeps the few fields it uses
and refuses a document whose ``issuer`` is not exactly the configured one (§4.3: a
provider answering for another issuer is a mix-up, or an attacker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WELL_KNOWN_PATH = "/.well-known/openid-configuration"

#: The ID-token signatures the hub accepts: asymmetric only, so a key published in the
#: JWKS can never be used as an HMAC secret, and never ``none``.
SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256")

CLIENT_SECRET_BASIC = "client_secret_basic"
CLIENT_SECRET_POST = "client_secret_post"


class DiscoveryError(ValueError):
    """The discovery document lacks what the hub needs, or names another issuer."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """The provider's endpoints and abilities, from its discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    #: Empty when the document does not say: Discovery §3 then means client_secret_basic.
    token_endpoint_auth_methods: tuple[str, ...]
    #: RFC 9207: the provider puts ``iss`` in every authorization response.
    returns_iss: bool

    @classmethod
    def read(cls, document: Any, *, issuer: str) -> Discovery:
        """The discovery of ``issuer`` from its decoded document."""
        if not isinstance(document, dict):
            raise DiscoveryError("the discovery document is not a JSON object")
        if document.get("issuer") != issuer:
            raise DiscoveryError(f"issuer {document.get('issuer')!r} is not {issuer!r}")

        def url(name: str, *, required: bool = True) -> str | None:
            value = document.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise DiscoveryError(f"{name} is {value!r}, not a URL")
            return value

        methods = document.get("token_endpoint_auth_methods_supported") or []
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise DiscoveryError("token_endpoint_auth_methods_supported is not a list of names")
        return cls(
            issuer=issuer,
            authorization_endpoint=str(url("authorization_endpoint")),
            token_endpoint=str(url("token_endpoint")),
            jwks_uri=str(url("jwks_uri")),
            userinfo_endpoint=url("userinfo_endpoint", required=False),
            end_session_endpoint=url("end_session_endpoint", required=False),
            token_endpoint_auth_methods=tuple(methods),
            returns_iss=document.get("authorization_response_iss_parameter_supported") is True,
        )

    def client_authentication(self) -> str:
        """How the hub authenticates at the token endpoint: Basic unless only POST is offered."""
        methods = self.token_endpoint_auth_methods
        if not methods or CLIENT_SECRET_BASIC in methods:
            return CLIENT_SECRET_BASIC
        if CLIENT_SECRET_POST in methods:
            return CLIENT_SECRET_POST
        raise DiscoveryError(f"the token endpoint takes neither client secret method: {methods}")
