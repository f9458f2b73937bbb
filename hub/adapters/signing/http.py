"""HTTP plumbing the remote-signing adapters share: timeouts and transport errors.

Every provider call goes through :meth:`ProviderHttp.post`/``get``: a short connect
timeout so a provider that is down fails in seconds with PROVIDER_UNAVAILABLE
(the seeds' main complaint was an error with no cause after minutes of waiting),
5xx answers become PROVIDER_FAILURE with the provider's status, and the adapter
maps its provider's own error codes from the JSON it gets back.
"""

from __future__ import annotations

from typing import Any

import httpx

from hub.adapters.signing.base import SigningError
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

#: Connecting must be quick; an answer may take a little longer (HSM work).
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class ProviderHttp:
    """An ``httpx.AsyncClient`` for one provider, mapping transport failures to codes."""

    def __init__(
        self,
        provider: SigningProvider,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, transport=transport
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path.lstrip("/"), **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise SigningError(Code.PROVIDER_UNAVAILABLE, self.provider, repr(error)) from error
        except httpx.TimeoutException as error:
            raise SigningError(
                Code.PROVIDER_UNAVAILABLE, self.provider, f"no answer in time: {error!r}"
            ) from error
        except httpx.TransportError as error:
            raise SigningError(Code.PROVIDER_UNAVAILABLE, self.provider, repr(error)) from error
        if response.status_code >= 500:
            raise SigningError(
                Code.PROVIDER_FAILURE,
                self.provider,
                f"HTTP {response.status_code}: {response.text[:200]}",
            )
        return response

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def aclose(self) -> None:
        await self.client.aclose()
