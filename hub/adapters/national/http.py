"""HTTP plumbing every national-sync client shares: keep-alive, timeouts, error mapping.

Batches are large (thousands of student records, tens of transcripts with their
documents), so one client keeps its connections open across batches (HTTP/1.1
keep-alive) and bodies are encoded with orjson. A far side that cannot be reached
fails within seconds as UNAVAILABLE; 5xx and 429 are FAILURE (send again later,
with the same idempotency key); a 401 naming a signature refusal is
SIGNATURE_REFUSED; any other 4xx is REFUSED.

A client given a ``sign`` function (the department's :class:`~hub.signing.transport.
BatchSigner`) signs the exact bytes it sends and puts the signature in the
``Batch-Signature`` header (:mod:`hub.adapters.national.protocol`).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from hub.adapters.national.errors import FarSideCode, FarSideError, System
from hub.adapters.national.protocol import SIGNATURE, SignatureRefusal

#: Signs a request body: the DER of a detached CMS over it.
Sign = Callable[[bytes], Awaitable[bytes]]

#: Connecting must be quick; a big batch may take a while to be stored.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=2.0)
JSON = "application/json"


class FarSideHttp:
    """An ``httpx.AsyncClient`` for one national system."""

    def __init__(
        self,
        system: System,
        base_url: str,
        *,
        token: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sign: Sign | None = None,
    ) -> None:
        self.system = system
        self.sign = sign
        headers = {"Accept": JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout,
            headers=headers,
            transport=transport,
            limits=httpx.Limits(max_connections=16, keepalive_expiry=120.0),
        )

    async def post_json(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, Any]:
        """POST ``body`` as JSON (signed, with a ``sign``); the answer and its decoded JSON,
        or :class:`FarSideError`. The signer's own refusals
        (:class:`~hub.adapters.signing.base.SigningError`) pass through."""
        content = orjson.dumps(body, default=_array)
        sent = {"Content-Type": JSON, **(headers or {})}
        if self.sign is not None:
            sent[SIGNATURE] = base64.b64encode(await self.sign(content)).decode("ascii")
        try:
            response = await self.client.post(path.lstrip("/"), content=content, headers=sent)
        except httpx.TimeoutException as error:
            raise FarSideError(
                FarSideCode.UNAVAILABLE, self.system, f"no answer in time: {error!r}"
            ) from error
        except httpx.TransportError as error:
            raise FarSideError(FarSideCode.UNAVAILABLE, self.system, repr(error)) from error
        status = response.status_code
        if status >= 500 or status == 429:
            raise FarSideError(
                FarSideCode.FAILURE, self.system, f"HTTP {status}: {response.text[:200]}"
            )
        if status == 401 and (refusal := _signature_refusal(response)):
            raise FarSideError(FarSideCode.SIGNATURE_REFUSED, self.system, refusal)
        if status >= 400:
            raise FarSideError(
                FarSideCode.REFUSED, self.system, f"HTTP {status}: {response.text[:200]}"
            )
        try:
            return response, orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            raise FarSideError(
                FarSideCode.FAILURE,
                self.system,
                f"HTTP {status}: unexpected answer {response.text[:200]!r}",
            ) from error

    async def aclose(self) -> None:
        await self.client.aclose()


def _signature_refusal(response: httpx.Response) -> str | None:
    """``CODE: message`` when a 401 says the batch's signature was refused, else None."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    if code not in SignatureRefusal.ALL:
        return None
    return f"{code}: {body.get('message') or ''}".strip()


def _array(value: Any) -> tuple[Any, ...]:
    """Anything else iterable (a database row) as a JSON array; orjson handles the rest."""
    if isinstance(value, bytes | bytearray):
        raise TypeError("bytes are sent base64")
    return tuple(value)
