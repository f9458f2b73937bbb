"""The /graphql endpoint: strawberry's ASGI view with the hub's context and HTTP rules.

GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): a client that
accepts ``application/graphql-response+json`` gets that media type, and a request
error (the document did not parse or validate, a variable did not fit, a guard
refused it: no ``data`` at all) answers 400 without a ``data`` key. A client that
accepts only ``application/json`` (or says nothing) keeps the classic behaviour:
200 with ``"data": null``.

In production there is no GraphiQL; in the demo, a browser's GET without a query gets
the hub's own GraphiQL page (:mod:`hub.web.graphiql`), which loads nothing from the
internet. Whatever strawberry refuses at the HTTP level
(no query, a body that is not JSON, a mutation over GET) is still a GraphQL error
with a stable code, in Vietnamese and English.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import structlog
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.ides import GraphQL_IDE
from strawberry.types import ExecutionResult

from hub.config import Mode
from hub.domain.problems import Code, HubError
from hub.fastpath import FastPath
from hub.fastpath.run import Answer
from hub.resolvers.context import Context
from hub.schema.api import schema
from hub.schema.errors import client_error
from hub.web.graphiql import graphiql_page
from hub.web.services import HubServices, purpose_of

log = structlog.get_logger()

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

#: What strawberry says when it refuses a request over HTTP → (code, Vietnamese, English).
_HTTP_REFUSALS: dict[str, tuple[Code, str, str]] = {
    "Unable to parse request body as JSON": (
        Code.INVALID_ARGUMENT,
        "thân yêu cầu không phải JSON hợp lệ",
        "the request body is not valid JSON",
    ),
    "No GraphQL query found in the request": (
        Code.INVALID_ARGUMENT,
        "yêu cầu không có câu truy vấn (query)",
        "the request has no query",
    ),
    "Unsupported content type": (
        Code.INVALID_ARGUMENT,
        "chỉ nhận application/json hoặc multipart/form-data",
        "only application/json or multipart/form-data are accepted",
    ),
    "GraphQL only supports GET and POST requests.": (
        Code.INVALID_ARGUMENT,
        "chỉ nhận GET và POST",
        "only GET and POST are accepted",
    ),
}


def wants_graphql_response(accept: str) -> bool:
    """Whether ``Accept`` prefers application/graphql-response+json to application/json."""
    if GRAPHQL_RESPONSE not in accept:
        return False
    weights = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        if media not in weights:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media] = max(weights[media], weight)
    return weights[GRAPHQL_RESPONSE] > 0 and weights[GRAPHQL_RESPONSE] >= weights[JSON]


def _accepts_graphql_response(request: Request | WebSocket) -> bool:
    return wants_graphql_response(request.headers.get("accept", ""))


def request_error_status(result: ExecutionResult) -> int | None:
    """The status of a request error (no ``data``), or None when execution gave data."""
    errors = result.errors or []
    if result.data is not None or not errors or any(e.path is not None for e in errors):
        return None
    codes = {(e.extensions or {}).get("code") for e in errors}
    if Code.INTERNAL_ERROR.value in codes:
        return 500
    if Code.QUERY_TIMEOUT.value in codes:
        return 504
    return 400


@dataclass(frozen=True)
class Refused:
    """The compiled path's request error (its time budget ran out)."""

    error: GraphQLError


@dataclass(frozen=True)
class Failed:
    """Check mode: the compiled path raised (the ordinary path must fail as well)."""

    error: Exception


def compare(answer: "Answer | Failed", result: ExecutionResult, ctx: Context) -> None:
    """Check mode: the compiled path's answer and access log must be the ordinary path's."""
    if isinstance(answer, Failed):
        if not result.errors:
            raise AssertionError("the compiled path failed, the ordinary path did not") from (
                answer.error
            )
        return
    codes = {(e.extensions or {}).get("code") for e in result.errors or ()}
    if codes == {Code.QUERY_TIMEOUT.value}:
        return  # the ordinary path ran out of time: an outcome of timing, not of meaning
    fast_data = orjson.loads(answer.data)
    if result.errors or fast_data != result.data:
        errors = [str(e) for e in result.errors or ()]
        raise AssertionError(
            f"compiled path answered {fast_data!r}, ordinary path {result.data!r} {errors}"
        )
    if sorted(answer.written or ()) != sorted(ctx.audit.written):
        raise AssertionError(
            f"compiled path logged {answer.written!r}, ordinary path {ctx.audit.written!r}"
        )


def http_refusal(error: HTTPException) -> GraphQLHTTPResponse:
    """strawberry's plain-text HTTP refusal as a GraphQL error with a stable code."""
    code, vietnamese, english = _HTTP_REFUSALS.get(
        error.reason,
        (
            Code.INVALID_ARGUMENT,
            "yêu cầu GraphQL không đúng định dạng GraphQL over HTTP",
            error.reason.rstrip("."),
        ),
    )
    if error.reason.endswith("are not allowed when using GET"):
        vietnamese, english = "mutation phải gửi bằng POST", "mutations must be sent with POST"
    problem = HubError(code, detail=vietnamese, details_en={"detail": english}).problem
    extensions = {"code": problem.code.value, "messageEn": problem.message_en}
    return {"errors": [{"message": problem.message, "extensions": extensions}]}


class HubGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with the hub's per-request context and HTTP rules."""

    def __init__(self, hub: HubServices) -> None:
        ide: GraphQL_IDE | None = None if hub.settings.mode is Mode.PRODUCTION else "graphiql"
        super().__init__(schema, graphql_ide=ide, multipart_uploads_enabled=True)
        self.hub = hub

    @cached_property
    def fast(self) -> FastPath:
        return FastPath(schema)

    async def render_graphql_ide(self, request: Request) -> Response:
        """The hub's GraphiQL page instead of strawberry's, which loads it from a CDN."""
        return graphiql_page()

    def encode_json(self, data: object) -> bytes:
        """orjson: a page of 100 students serialises several times faster than with json."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            if error.status_code == 404:  # no IDE in production: nothing to see
                response = Response(error.reason, status_code=404, media_type="text/plain")
            else:
                media = GRAPHQL_RESPONSE if _accepts_graphql_response(request) else JSON
                body = self.encode_json(http_refusal(error))
                response = Response(body, status_code=error.status_code, media_type=media)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        # Header values are ASCII: Vietnamese purposes arrive percent-encoded (purpose_of).
        return self.hub.context(await self.hub.caller_for(request), purpose_of(request))

    async def _fast_answer(
        self, ctx: Context, request_data: GraphQLRequestData, fast: str
    ) -> "Answer | Refused | Failed | None":
        """The compiled path's answer (:mod:`hub.fastpath`), None for the ordinary path."""
        if self.schema is not schema:
            return None  # a schema of its own (tests): the compiled path knows the hub's
        try:
            return await self.fast.answer(ctx, request_data, check=fast == "check")
        except HubError as error:  # QUERY_TIMEOUT: answered as the ordinary path does
            production = ctx.settings.mode is Mode.PRODUCTION
            refused = GraphQLError(error.problem.message, original_error=error)
            return Refused(client_error(refused, production=production))
        except Exception as error:
            if fast == "check":
                return Failed(error)  # the ordinary path must fail too (compare())
            log.exception("graphql.fastpath_failed")
            await ctx.reader.close()
            return None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if _accepts_graphql_response(request):
            sub_response.media_type = GRAPHQL_RESPONSE
        return sub_response

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        answer, fast = None, self.hub.settings.graphql_fastpath
        if fast in ("on", "check"):
            answer = await self._fast_answer(kwargs["context"], kwargs["request_data"], fast)
        if isinstance(answer, Refused):
            result = ExecutionResult(data=None, errors=[answer.error])
        elif isinstance(answer, Answer) and fast == "on":
            result = ExecutionResult(data=answer.fragment, errors=None)
        else:
            result = await super().execute_single(*args, **kwargs)
            if answer is not None:
                compare(answer, result, kwargs["context"])
        sub_response: Response = kwargs["sub_response"]
        if sub_response.media_type == GRAPHQL_RESPONSE:
            status = request_error_status(result)
            if status is not None:
                sub_response.status_code = status
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = process_result(result)
        if _accepts_graphql_response(request) and request_error_status(result) is not None:
            processed.pop("data", None)  # a request error has no data entry at all
        return processed

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = GRAPHQL_RESPONSE
        return response
