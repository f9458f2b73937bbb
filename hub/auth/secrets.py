"""Client secrets: generated once, stored only as a salted scrypt hash."""

import base64
import hashlib
import hmac
import secrets
from functools import cache

_N, _R, _P = 2**14, 8, 1


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "$".join(
        [
            "scrypt",
            str(_N),
            str(_R),
            str(_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


@cache
def dummy_hash() -> str:
    """A hash of a secret nobody knows, made exactly like a client's.

    Verifying against it when the client id is unknown makes an unknown id cost
    the same scrypt work as a known one, so answer times do not reveal which
    client ids exist.
    """
    return hash_secret(new_secret())
