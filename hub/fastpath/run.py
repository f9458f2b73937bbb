"""Answering a request on the compiled path, or saying that the ordinary path must."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, specified_rules
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.http import GraphQLRequestData
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.arguments import convert_arguments
from strawberry.types.unset import UNSET

from hub.config import Mode
from hub.domain.problems import Code, HubError
from hub.fastpath.cache import cache_key, compile_statement, lookup
from hub.fastpath.plan import ConnectionPlan, Unsupported, cached_plan
from hub.fastpath.sql import Builder, caller_values, root_statement
from hub.resolvers.context import Context
from hub.schema import guards

_RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)


@dataclass
class Answer:
    """The compiled path's answer: the response's ``data`` as JSON text and, in check
    mode, the access-log entries its statement wrote (then rolled back)."""

    data: bytes
    written: list[tuple[str, int, str]] | None = None

    @property
    def fragment(self) -> Any:
        return orjson.Fragment(self.data)


class FastPath:
    """The compiled path of one schema."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.graphql = schema._schema
        self.scalars = schema.schema_converter.scalar_registry

    async def answer(
        self, ctx: Context, request: GraphQLRequestData, *, check: bool = False
    ) -> Answer | None:
        """The answer, or None where the ordinary path must answer (unsupported, or an
        answer with errors: refusals, unknown variables, forbidden scopes…). Raises
        HubError QUERY_TIMEOUT when the statement outlives the query's time budget."""
        caller = ctx.caller_or_none
        settings = ctx.settings
        if caller is None or ctx.reader.dialect != "postgresql" or caller.reads_under_consent:
            return None
        query = self._trusted(ctx, request)
        if query is None:
            return None
        limits = guards.Limits.of(settings)
        production = settings.mode is Mode.PRODUCTION
        try:
            document = guards._parse(query, limits.max_tokens)
            found = guards.plan(self.graphql, query, request.operation_name, limits)
            if found.refusal is not None or found.introspects:
                return None
            guards.check_variables(found, request.variables, limits)
        except (GraphQLError, HubError):
            return None
        if guards._validate(self.graphql, query, limits.max_tokens, _RULES, production):
            return None
        plan = cached_plan(self.graphql, query, request.operation_name, document)
        if plan is None:
            return None
        coerced = get_variable_values(
            self.graphql, plan.operation.variable_definitions or (), request.variables or {}
        )
        if isinstance(coerced, list):
            return None
        try:
            roots = {
                key: root_statement(root, self._arguments(root, coerced), caller, settings)
                for key, root in plan.roots
                if isinstance(root, ConnectionPlan)
            }
            keys = [s._generate_cache_key() for r in roots.values() for s in r.statements]
            shape = (query, request.operation_name, check, caller.school_ids, caller.scopes)
            key = cache_key((*shape, *(r.shape for r in roots.values())), keys)
            compiled = lookup(key)
            if compiled is None:
                statement = Builder(caller, check=check).statement(plan, roots)
                compiled = compile_statement(key, statement, keys, ctx.reader.dialect_object)
        except (Unsupported, HubError, GraphQLError):
            return None
        purpose = (ctx.purpose or request.operation_name or plan.name or "")[:200]
        parameters = compiled.parameters(keys, caller_values(caller, purpose))
        if check:
            return await _rolled_back(ctx, compiled.sql, parameters)
        seconds = settings.graphql_timeout_seconds
        try:
            # The guards' time budget of a query (RequestGuards.on_execute): the statement
            # runs to its end (the reader shields it, as on the ordinary path), the
            # client is told QUERY_TIMEOUT.
            async with asyncio.timeout(seconds or None):
                rows = await ctx.reader.write_driver_sql(compiled.sql, parameters)
        except TimeoutError:
            raise HubError(Code.QUERY_TIMEOUT, seconds=guards._seconds(seconds)) from None
        finally:
            await ctx.reader.close()
        return Answer(rows[0][0].encode())

    def _trusted(self, ctx: Context, request: GraphQLRequestData) -> str | None:
        """The query text as :class:`hub.schema.guards.RequestGuards` resolves it, None
        where the guards refuse it."""
        settings = ctx.settings
        path = settings.graphql_trusted_documents_file
        query = request.query
        if path is None:
            return query
        registered = guards.trusted_documents(path)
        persisted = (request.extensions or {}).get("persistedQuery")
        asked = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if query is None and isinstance(asked, str):
            query = registered.get(asked.lower())
        if query is None:
            return None
        trusted = guards.is_trusted(query, registered)
        if settings.mode is Mode.PRODUCTION and not trusted:
            return None
        return query

    def _arguments(self, root: ConnectionPlan, variables: VariableValues) -> dict[str, Any]:
        """The root field's arguments as its resolver receives them (python names)."""
        values = get_argument_values(root.definition, root.field_node, variables)
        field = root.definition.extensions["strawberry-definition"]
        converted = convert_arguments(values, field.arguments, self.scalars, self.schema.config)
        return {name: None if value is UNSET else value for name, value in converted.items()}


async def _rolled_back(ctx: Context, sql: str, parameters: dict[str, Any]) -> Answer:
    """Check mode: run the statement in a transaction that is rolled back (the ordinary
    path writes the request's access log)."""
    async with ctx.db.engine.connect() as connection:
        row: Sequence[Any] = (await connection.exec_driver_sql(sql, parameters)).one()
        await connection.rollback()
    written = [] if len(row) < 2 or row[1] is None else orjson.loads(row[1])
    return Answer(row[0].encode(), [(entity, key, item) for entity, key, item in written])
