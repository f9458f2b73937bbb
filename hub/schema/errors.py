"""Every GraphQL error a client sees: a stable code, Vietnamese and English, nothing internal.

``extensions.code`` is the stable code, ``message`` Vietnamese, ``extensions.messageEn``
English. An unexpected exception becomes INTERNAL_ERROR with a correlation id that
is also in the server log with the traceback; its text (SQL, driver messages, class
names) never leaves the server. graphql-core's own words about a bad document stay
in ``extensions.detail`` in demo mode only, and "Did you mean …?" never appears in
production.
"""

import re
import uuid
from typing import Any

import structlog
from graphql import GraphQLError, GraphQLSyntaxError, StringValueNode
from strawberry.relay.types import GlobalIDValueError

from hub.domain.problems import Code, HubError, Problem, problem
from hub.resolvers.ids import quoted

log = structlog.get_logger()

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
_TOKENS = re.compile(r"more than (\d+) tokens")
_VARIABLE = re.compile(r"Variable '(\$\w+)'")
#: graphql-core's messages about values that do not fit their type (not crashes).
_COERCION = ("Variable '$", "Expected value of type", "Argument '")


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


def _client_words(error: GraphQLError) -> str:
    """graphql-core's message without the text of a Python exception inside it."""
    message = error.message
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        message = message.replace(f"; {original}", "").replace(str(original), "")
    return message


def _is_request_error(error: GraphQLError) -> bool:
    """Refused by parsing, validation or variable coercion (not a crash)."""
    if error.path is not None:
        return False
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return error.message.startswith(_COERCION)


def _invalid_id(error: GraphQLError) -> Problem:
    node = error.nodes[0] if error.nodes else None
    if isinstance(node, StringValueNode):
        shown = quoted(node.value)
    elif found := _VARIABLE.search(error.message):
        shown = found.group(1)
    else:
        shown = "id"
    return problem(Code.INVALID_ID, field=shown)


def classify(error: GraphQLError, *, production: bool) -> tuple[Problem, dict[str, Any]]:
    """The problem a client is told about ``error`` and the extensions beyond code/messages."""
    original = error.original_error
    extra: dict[str, Any] = {}
    if isinstance(original, HubError):
        return original.problem, extra
    if isinstance(original, GlobalIDValueError):
        return _invalid_id(error), extra
    if isinstance(error, GraphQLSyntaxError):
        if tokens := _TOKENS.search(error.message):
            limit = tokens.group(1)
            found = problem(
                Code.QUERY_TOO_MANY_TOKENS,
                count=f"hơn {limit}",
                limit=limit,
                details_en={"count": f"more than {limit}"},
            )
            return found, extra
        detail = error.message.removeprefix("Syntax Error: ").rstrip(".")
        if not production:
            extra["detail"] = error.message
        return problem(Code.GRAPHQL_PARSE_FAILED, detail=detail), extra
    if _is_request_error(error):
        words = _client_words(error)
        if not production:
            extra["detail"] = words
        detail = without_suggestions(words).rstrip(".")
        return problem(Code.GRAPHQL_VALIDATION_FAILED, detail=detail), extra
    correlation_id = str(uuid.uuid4())
    extra["correlationId"] = correlation_id
    log.error(
        "request.failed",
        correlation_id=correlation_id,
        path=error.path,
        error=error.message,
        exc_info=original if original is not None else error,
    )
    return problem(Code.INTERNAL_ERROR, correlation_id=correlation_id), extra


def client_error(error: GraphQLError, *, production: bool) -> GraphQLError:
    """``error`` as the client sees it."""
    found, extra = classify(error, production=production)
    if found.code is not Code.INTERNAL_ERROR:
        log.info("request.refused", code=found.code.value, path=error.path)
    extensions: dict[str, Any] = {"code": found.code.value, "messageEn": found.message_en}
    if found.field is not None:
        extensions["field"] = found.field
    extensions.update(extra)
    return GraphQLError(
        found.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )
