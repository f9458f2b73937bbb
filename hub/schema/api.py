"""The hub's GraphQL schema: the root types (:mod:`hub.schema.root`) with the execution
extensions and the error presentation every request goes through."""

from collections.abc import AsyncIterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from hub.config import Mode
from hub.resolvers.context import Context
from hub.schema.errors import client_error
from hub.schema.guards import RequestGuards
from hub.schema.root import Mutation, Query


class RequestLifecycle(SchemaExtension):
    """Close the request's read session and write its access log when it ends."""

    async def on_operation(self) -> AsyncIterator[None]:
        ctx: Context = self.execution_context.context
        try:
            yield
            if ctx.caller_or_none is not None:
                await ctx.audit.flush(
                    ctx.reader,
                    caller=ctx.caller_or_none,
                    purpose=(ctx.purpose or self.execution_context.operation_name or "")[:200],
                )
        finally:
            await ctx.reader.close()


class HubSchema(strawberry.Schema):
    """Every error a client sees is presented by :func:`hub.schema.errors.client_error`.

    That is also where they are logged (a refusal as an event, a crash with its
    traceback and correlation id), so strawberry's own error log is not used.
    """

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        if result.errors:
            context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
            settings = getattr(context, "settings", None)
            production = settings is not None and settings.mode is Mode.PRODUCTION
            result.errors = [client_error(e, production=production) for e in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logged when presented (:meth:`execute`)."""


schema = HubSchema(
    query=Query,
    mutation=Mutation,
    extensions=[RequestLifecycle, RequestGuards],
)
