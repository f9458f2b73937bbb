"""The OAuth2 client-credentials token endpoint and the tokens it issues."""

import base64
import json

from hub.domain.enums import OrgLevel
from tests.helpers import data, gql, register


def _claims(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


async def test_client_credentials_with_basic_auth_give_an_rfc9068_token(db, http, world):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert response.headers["cache-control"] == "no-store"
    header, claims = _claims(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    assert claims["client_id"] == claims["sub"] == client_id
    assert {"iss", "aud", "exp", "iat", "jti"} <= set(claims)
    assert claims["scope"] == "reports:read"
    me = data(await gql(http, body["access_token"], "{ me { clientId orgLevel schoolCount } }"))
    assert me["me"] == {"clientId": client_id, "orgLevel": "DEPARTMENT", "schoolCount": None}


async def test_client_secret_post_and_narrower_scope(db, http, world):
    client_id, secret = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=["reports:read", "students:read"]
    )
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "students:read",
        },
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "students:read"


async def test_wrong_secret_unknown_scope_and_grant_are_refused(db, http, world):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    wrong = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "nope")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    scope = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "students:write"},
        auth=(client_id, secret),
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    grant = await http.post(
        "/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret)
    )
    assert grant.json()["error"] == "unsupported_grant_type"


async def test_tampered_token_is_rejected(db, http, world):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    token = (
        await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
    ).json()["access_token"]
    header, _, signature = token.split(".")
    claims = _claims(token)[1] | {"scope": "students:read students:write"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    result = await gql(http, forged, "{ me { clientId } }")
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_jwks_publishes_the_verification_key(http, world):
    keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert keys[0]["kty"] == "RSA" and "d" not in keys[0]
