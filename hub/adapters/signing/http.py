"""HTTP plumbing the remote-signing adapters share: timeouts, transport errors, health.

Every provider call goes through :meth:`ProviderHttp.post`/``get``: a short connect
timeout so a provider that is down fails in seconds with PROVIDER_UNAVAILABLE
(the seeds' main complaint was an error with no cause after minutes of waiting),
5xx answers become PROVIDER_FAILURE with the provider's status, and the adapter
maps its provider's own error codes from the JSON it gets back. Every health
check is :func:`probe_health` around one cheap call of the adapter's choosing.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import TypeAdapter, ValidationError

from hub.adapters.signing.base import Health, HealthStatus, SigningError, Stopwatch, utcnow
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

#: Connecting must be quick; an answer may take a little longer (HSM work).
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)

#: Slower than this and a provider that answers is still reported DEGRADED.
SLOW_MS = 2000.0

#: How long an idle connection to a provider is kept for the next call: under the 5 s
#: after which common servers (uvicorn, so the simulators; many proxies) close theirs, so
#: that no request is written to a connection the provider is closing.
KEEPALIVE_SECONDS = 4.0


def provider_transport(verify: ssl.SSLContext | bool = True) -> httpx.AsyncBaseTransport:
    """How the hub's HTTP reaches providers: httpx's client over aiohttp's connections
    (httpx-aiohttp), which take half the client's CPU of httpx's own transport a call
    (a signing worker calls its providers a few times a chunk: the transaction, the
    credential, every ask). ``verify``: a TLS context of the hub's own (a client
    certificate), or whether to check the server's against the system's CAs."""
    return AiohttpTransport(
        verify=verify,
        limits=httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_SECONDS
        ),
    )


T = TypeVar("T")


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
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout,
            transport=transport or provider_transport(),
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

    def decode(self, response: httpx.Response, kind: type[T]) -> T:
        """The answer's JSON as ``kind``; one that does not fit is PROVIDER_FAILURE."""
        try:
            return TypeAdapter(kind).validate_json(response.content)
        except ValidationError as error:
            raise SigningError(
                Code.PROVIDER_FAILURE,
                self.provider,
                f"HTTP {response.status_code}: unexpected answer {response.text[:200]!r}",
            ) from error

    async def aclose(self) -> None:
        await self.client.aclose()


class UserTokens:
    """Bearer tokens a provider issues per user, each renewed a little before it lapses.

    ``login(user)`` asks the provider for a new token for ``user``: the token and
    how many seconds it lasts; it raises the provider's refusal.
    """

    def __init__(
        self, http: ProviderHttp, login: Callable[[str], Awaitable[tuple[str, float]]]
    ) -> None:
        self.http = http
        self._login = login
        #: user → (bearer token, monotonic time to renew it).
        self._tokens: dict[str, tuple[str, float]] = {}

    async def post(self, user: str, path: str, **kwargs: Any) -> httpx.Response:
        """POST as ``user``; a token the provider no longer knows (401) is renewed once."""
        for _ in range(2):
            token = await self._token(user)
            response = await self.http.post(
                path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
            if response.status_code != 401:
                break
            self._tokens.pop(user, None)
        return response

    async def _token(self, user: str) -> str:
        cached = self._tokens.get(user)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        token, lifetime = await self._login(user)
        # Renew a little early so a token never lapses between two calls of one step.
        self._tokens[user] = (token, time.monotonic() + 0.9 * lifetime)
        return token


async def probe_health(
    provider: SigningProvider, probe: Callable[[], Awaitable[str | None]]
) -> Health:
    """Time ``probe``, a cheap call returning the problem its answer reveals, if any.

    DOWN when the provider cannot be reached; DEGRADED when it answers, but slower
    than :data:`SLOW_MS`, with an error (4xx, 5xx, an answer not understood, no
    answer before the read timeout) or with a problem; UP otherwise. Never raises:
    the health page must show a broken provider, not break itself.
    """
    watch = Stopwatch()
    try:
        problem = await probe()
    except SigningError as error:
        unreachable = error.problem.code is Code.PROVIDER_UNAVAILABLE and not isinstance(
            error.__cause__, httpx.ReadTimeout
        )
        return Health(
            provider,
            HealthStatus.DOWN if unreachable else HealthStatus.DEGRADED,
            None if unreachable else watch.ms,
            error.detail,
            utcnow(),
        )
    except Exception as error:  # an answer no one expected is still an answer
        return Health(provider, HealthStatus.DEGRADED, watch.ms, repr(error), utcnow())
    latency = watch.ms
    if problem is None and latency > SLOW_MS:
        problem = f"slow answer: {latency} ms"
    status = HealthStatus.UP if problem is None else HealthStatus.DEGRADED
    return Health(provider, status, latency, problem, utcnow())
