"""What one GraphQL request may ask, decided before anything runs.

:class:`RequestGuards` replaces strawberry's parser and validation caches with its
own, so that the cheap checks come first and a refused document never reaches the
(quadratic) overlapping-fields rule, let alone a resolver:

1. trusted documents, when an operator registers them (production serves nothing else);
2. parsing, with a token limit (cached per query text);
3. the document's *plan* (cached per document): depth, aliases, directives, every
   literal ``first`` or ``last`` (1..page_size_max), literal strings of a query, introspection,
   and the estimated cost as a polynomial over the variables given as ``first``;
4. per request: introspection for callers without ``schema:read`` in production, the
   variables given as ``first`` or ``last``, the cost with them, the length of a query's strings;
5. graphql-core's validation (cached; no "Did you mean …?" in production);
6. execution of a query within a time budget.

The cost estimates the objects a response holds: every field of an object type
costs 1; a field taking ``first`` multiplies the list it pages (its own value or a
connection's ``edges``/``nodes``) by ``first`` or ``last`` (or its default, or the
default page size); any other list by ``graphql_list_size``. Scalars are free.
"""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypedDict

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    parse,
)
from graphql import validate as graphql_validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from hub.config import Mode, Settings
from hub.domain.problems import Code, HubError
from hub.schema.pagination import check_first, first_refused

#: The scope that lets a client introspect the schema in production.
SCHEMA_SCOPE = "schema:read"
_INTROSPECTION = frozenset({"__schema", "__type"})
_PAGED_LISTS = frozenset({"edges", "nodes"})
_PAGE_SIZES = frozenset({"first", "last"})
_PLACEHOLDER = "{ __typename }"

UPLOAD = "Upload"


class _Explained(TypedDict):
    """A refusal's words: the Vietnamese ``detail`` and its English (see ``HubError``)."""

    detail: str
    details_en: Mapping[str, object]


_NOT_A_FILE: _Explained = {
    "detail": "tệp phải được gửi dạng multipart (GraphQL multipart request)",
    "details_en": {"detail": "a file must be sent as a GraphQL multipart request"},
}

#: A cost polynomial: variables multiplied (sorted names) → coefficient.
Poly = dict[tuple[str, ...], int]


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings the guards read, hashable (a key of the plan cache)."""

    max_depth: int
    max_aliases: int
    max_directives: int
    max_tokens: int
    max_cost: int
    max_text_length: int
    list_size: int
    page_size_default: int
    page_size_max: int

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        """The limits of ``settings`` (remembered: an app keeps its settings object)."""
        known = _LIMITS.get(id(settings))
        if known is not None and known[0] is settings:
            return known[1]
        if len(_LIMITS) > 64:
            _LIMITS.clear()
        limits = cls._read(settings)
        _LIMITS[id(settings)] = (settings, limits)
        return limits

    @classmethod
    def _read(cls, settings: Settings) -> "Limits":
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_directives=settings.graphql_max_directives,
            max_tokens=settings.graphql_max_tokens,
            max_cost=settings.graphql_max_cost,
            max_text_length=settings.graphql_max_text_length,
            list_size=settings.graphql_list_size,
            page_size_default=settings.page_size_default,
            page_size_max=settings.page_size_max,
        )


_LIMITS: dict[int, tuple[Settings, Limits]] = {}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal decided from the document alone, raised anew for each request."""

    code: Code
    details: tuple[tuple[str, Any], ...]
    node: Node | None = None
    field: str | None = None

    def error(self) -> GraphQLError:
        hub_error = HubError(self.code, field=self.field, **dict(self.details))
        return GraphQLError(hub_error.problem.message, self.node, original_error=hub_error)


def refusal(
    code: Code, node: Node | None = None, field: str | None = None, **details: Any
) -> Refusal:
    return Refusal(code, tuple(details.items()), node, field)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the guards know of one operation of one document."""

    operation: OperationType | None
    refusal: Refusal | None = None
    introspects: bool = False
    cost: Poly = field(default_factory=dict)
    #: variable given as some ``first`` → the page size when it is null or absent
    first_variables: Mapping[str, int] = field(default_factory=dict)
    variable_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: variables declared as Upload: a multipart file, never JSON
    files: Mapping[str, bool] = field(default_factory=dict)  # name → declared as a list
    node: Node | None = None


@dataclass(slots=True)
class _Sum:
    cost: Poly
    aliases: int = 0
    directives: int = 0
    deepest: int = 0


def _add(into: Poly, other: Poly, factor: int | str = 1) -> None:
    """``into += factor × other``; a str factor is a variable."""
    for key, coefficient in other.items():
        if isinstance(factor, str):
            key = tuple(sorted((*key, factor)))
            coefficient_times = coefficient
        else:
            coefficient_times = coefficient * factor
        into[key] = into.get(key, 0) + coefficient_times


def evaluate(cost: Poly, values: Mapping[str, int]) -> int:
    total = 0
    for key, coefficient in cost.items():
        term = coefficient
        for name in key:
            term *= values[name]
        total += term
    return total


class _Planner:
    """One walk over the operation, fragments expanded (and memoised: no fragment bombs)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        limits: Limits,
        is_query: bool,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.limits = limits
        self.is_query = is_query
        self.introspects = False
        self.refusal: Refusal | None = None
        self.first_variables: dict[str, int] = {}
        self._memo: dict[tuple[str, int, int | str | None], _Sum] = {}
        self._open: set[str] = set()

    def _refuse(self, found: Refusal) -> None:
        if self.refusal is None:
            self.refusal = found

    def walk(
        self, selections: SelectionSetNode, parent: Any, depth: int, pending: int | str | None
    ) -> _Sum:
        total = _Sum(cost={}, deepest=depth)
        for selection in selections.selections:
            total.directives += len(selection.directives or ())
            if isinstance(selection, FieldNode):
                self._field(selection, parent, depth, pending, total)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                found = self.walk(selection.selection_set, inner, depth, pending)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in self._open:
                    continue  # validation names the problem
                key = (name, depth, pending)
                if key not in self._memo:
                    self._open.add(name)
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    self._memo[key] = self.walk(fragment.selection_set, inner, depth, pending)
                    self._open.discard(name)
                found = self._memo[key]
            else:  # pragma: no cover
                continue
            _add(total.cost, found.cost)
            total.aliases += found.aliases
            total.directives += found.directives
            total.deepest = max(total.deepest, found.deepest)
        return total

    def _field(
        self, node: FieldNode, parent: Any, depth: int, pending: int | str | None, total: _Sum
    ) -> None:
        if node.alias is not None:
            total.aliases += 1
        name = node.name.value
        total.deepest = max(total.deepest, depth + 1)
        if name.startswith("__"):
            self.introspects = self.introspects or name in _INTROSPECTION
            return  # introspection has its own guard; __typename is free
        fields = (
            getattr(parent, "fields", None)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        definition = fields.get(name) if fields else None
        if definition is None:
            return  # validation names the problem
        page: int | str | None = None
        if "first" in definition.args:
            page = self._first(node, definition.args["first"].default_value)
        for argument in node.arguments or ():
            declared = definition.args.get(argument.name.value)
            is_file = declared is not None and get_named_type(declared.type).name == UPLOAD
            if is_file and not isinstance(argument.value, VariableNode):
                self._refuse(refusal(Code.INVALID_ARGUMENT, argument, **_NOT_A_FILE))
        for argument in node.arguments or ():
            self.text(argument.value, argument.name.value, argument)
        if node.selection_set is None:
            return
        returns = definition.type
        if isinstance(returns, GraphQLNonNull):
            returns = returns.of_type
        is_list = isinstance(returns, GraphQLList)
        factor: int | str = 1
        if page is not None:
            factor, pending = (page, None) if is_list else (1, page)
        elif is_list:
            paged = pending is not None and name in _PAGED_LISTS
            factor, pending = (pending if paged else self.limits.list_size), None  # type: ignore[assignment]
        inner = self.walk(node.selection_set, get_named_type(returns), depth + 1, pending)
        cost: Poly = {(): 1}
        _add(cost, inner.cost)
        _add(total.cost, cost, factor)
        total.aliases += inner.aliases
        total.directives += inner.directives
        total.deepest = max(total.deepest, inner.deepest)

    def _first(self, node: FieldNode, default: Any) -> int | str:
        """The page size of a field taking ``first`` (and ``last``, paging backward): a
        number or a variable's name."""
        fallback = default if isinstance(default, int) else self.limits.page_size_default
        for argument in node.arguments or ():
            if argument.name.value not in _PAGE_SIZES:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                number = int(value.value)
                refused = first_refused(number, self.limits.page_size_max, argument.name.value)
                if refused is not None:
                    self._refuse(refusal(Code.INVALID_ARGUMENT, argument, **refused))
                return number
            if isinstance(value, VariableNode):
                variable = value.name.value
                self.first_variables[variable] = max(
                    self.first_variables.get(variable, 0), fallback
                )
                return variable
        return fallback  # absent, or not an Int (validation names the problem)

    def text(self, value: ValueNode, path: str, node: Node) -> None:
        """No literal string holds a NUL (no column, XML or PostgreSQL text can); a query's
        are no longer than graphql_max_text_length (a mutation's are checked per field)."""
        if isinstance(value, StringValueNode):
            if "\x00" in value.value:
                self._refuse(refusal(Code.TEXT_CONTROL_CHARACTERS, node, field=path))
            elif self.is_query and len(value.value) > self.limits.max_text_length:
                self._refuse(
                    refusal(
                        Code.TEXT_TOO_LONG,
                        node,
                        field=path,
                        length=len(value.value),
                        limit=self.limits.max_text_length,
                    )
                )
        elif isinstance(value, ListValueNode):
            for item in value.values:
                self.text(item, path, node)
        elif isinstance(value, ObjectValueNode):
            for entry in value.fields:
                self.text(entry.value, f"{path}.{entry.name.value}", node)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


@lru_cache(maxsize=512)
def plan(schema: GraphQLSchema, query: str, operation_name: str | None, limits: Limits) -> Plan:
    """The guards' view of a query text (cached by text: a parsed document's hash is deep)."""
    return plan_document(schema, _parse(query, limits.max_tokens), operation_name, limits)


def plan_document(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, limits: Limits
) -> Plan:
    """The guards' view of ``document``."""
    operation = _operation(document, operation_name)
    if operation is None:
        return Plan(operation=None)  # graphql-core names the problem
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Plan(operation=operation.operation)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    planner = _Planner(schema, fragments, limits, operation.operation is OperationType.QUERY)
    found = planner.walk(operation.selection_set, root, 0, None)
    found.directives += len(operation.directives or ())
    defaults: dict[str, Any] = {}
    files = {
        d.variable.name.value: _is_list_type(d.type)
        for d in operation.variable_definitions or ()
        if _type_name(d.type) == UPLOAD
    }
    for definition in operation.variable_definitions or ():
        found.directives += len(definition.directives or ())
        default = definition.default_value
        if isinstance(default, IntValueNode):
            defaults[definition.variable.name.value] = int(default.value)
        elif isinstance(default, StringValueNode):
            defaults[definition.variable.name.value] = default.value
        if default is not None and planner.is_query:
            planner.text(default, f"${definition.variable.name.value}", definition)
    checks: list[tuple[bool, Code, dict[str, Any]]] = [
        (
            found.deepest > limits.max_depth,
            Code.QUERY_TOO_DEEP,
            {"depth": found.deepest, "limit": limits.max_depth},
        ),
        (
            found.aliases > limits.max_aliases,
            Code.QUERY_TOO_MANY_ALIASES,
            {"count": found.aliases, "limit": limits.max_aliases},
        ),
        (
            found.directives > limits.max_directives,
            Code.QUERY_TOO_MANY_DIRECTIVES,
            {"count": found.directives, "limit": limits.max_directives},
        ),
    ]
    refused = next((refusal(code, operation, **d) for bad, code, d in checks if bad), None)
    refused = refused or planner.refusal
    if refused is None and all(key == () for key in found.cost):
        cost = found.cost.get((), 0)
        if cost > limits.max_cost:
            refused = refusal(Code.QUERY_TOO_COSTLY, operation, cost=cost, limit=limits.max_cost)
    return Plan(
        operation=operation.operation,
        refusal=refused,
        introspects=planner.introspects,
        cost=found.cost,
        first_variables=planner.first_variables,
        variable_defaults=defaults,
        files=files,
        node=operation,
    )


def check_variables(plan: Plan, variables: Mapping[str, Any] | None, limits: Limits) -> None:
    """The checks that need this request's variables; raises HubError."""
    variables = variables or {}
    values: dict[str, int] = {}
    for name, fallback in plan.first_variables.items():
        value = variables.get(name, plan.variable_defaults.get(name))
        if isinstance(value, int) and not isinstance(value, bool):
            values[name] = check_first(value, limits.page_size_max)
        else:
            values[name] = fallback  # null, absent, or not an Int (coercion refuses it)
    if len(plan.cost) > 1 or any(plan.cost):
        cost = evaluate(plan.cost, values)
        if cost > limits.max_cost:
            raise HubError(Code.QUERY_TOO_COSTLY, cost=cost, limit=limits.max_cost)
    for name, is_list in plan.files.items():
        if name in variables and not _is_file(variables[name], is_list=is_list):
            raise HubError(Code.INVALID_ARGUMENT, **_NOT_A_FILE)
    longest = limits.max_text_length if plan.operation is OperationType.QUERY else None
    for name, value in variables.items():
        _check_text(value, f"${name}", longest)


def _is_file(value: Any, *, is_list: bool) -> bool:
    """What multipart parsing puts in a variable (a list of them for [Upload!])."""
    if is_list:
        return value is None or (
            isinstance(value, list) and all(_is_file(item, is_list=False) for item in value)
        )
    return value is None or callable(getattr(value, "read", None))


def _is_list_type(node: Any) -> bool:
    if isinstance(node, NonNullTypeNode):
        node = node.type
    return isinstance(node, ListTypeNode)


def _type_name(node: Any) -> str:
    while not isinstance(node, NamedTypeNode):
        node = node.type
    return str(node.name.value)


def _check_text(value: Any, path: str, limit: int | None) -> None:
    """Variables as :meth:`_Planner.text` checks literals (``limit`` None: no length)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise HubError(Code.TEXT_CONTROL_CHARACTERS, field=path)
        if limit is not None and len(value) > limit:
            raise HubError(Code.TEXT_TOO_LONG, field=path, length=len(value), limit=limit)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, path, limit)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(item, f"{path}.{key}", limit)


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema,
    query: str,
    max_tokens: int,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """graphql-core's validation, cached by query text like the parser (see :func:`plan`)."""
    document = _parse(query, max_tokens)
    return graphql_validate(schema, document, rules, hide_suggestions=hide_suggestions)


@cache
def trusted_documents(path: Path) -> dict[str, str]:
    """The operator's registered documents, sha256 (hex) → text, read once per process."""
    documents = json.loads(path.read_text(encoding="utf-8"))
    return {str(key).lower(): str(text) for key, text in documents.items()}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


#: The documents the hub runs itself (the streamed change feed's pages,
#: :data:`hub.fastpath.feed.FEED_QUERY`): trusted whatever the operator registered.
_OWN: set[str] = set()


def own_document(query: str) -> str:
    """Register ``query`` as a document of the hub's own; returns it."""
    _OWN.add(sha256(query))
    return query


def is_trusted(query: str, registered: Mapping[str, str]) -> bool:
    """Whether ``query`` is a registered document or one of the hub's own."""
    digest = sha256(query)
    return digest in registered or digest in _OWN


class RequestGuards(SchemaExtension):
    """The guards of :mod:`hub.schema.guards`, in the order they run."""

    def __init__(self) -> None:
        self._untrusted = False
        self._operation: OperationType | None = None

    def _settings(self) -> Settings | None:
        return getattr(self.execution_context.context, "settings", None)

    def on_operation(self) -> Iterator[None]:
        settings = self._settings()
        path = settings.graphql_trusted_documents_file if settings else None
        if settings is not None and path is not None:
            self._resolve_trusted(settings, trusted_documents(path))
        yield

    def _resolve_trusted(self, settings: Settings, registered: dict[str, str]) -> None:
        context = self.execution_context
        persisted = (context.operation_extensions or {}).get("persistedQuery")
        asked = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if context.query is None and isinstance(asked, str):
            context.query = registered.get(asked.lower())
        trusted = context.query is not None and is_trusted(context.query, registered)
        if settings.mode is Mode.PRODUCTION and not trusted:
            self._untrusted = True
            context.query = _PLACEHOLDER  # parsed, never run: on_parse refuses it
        elif context.query is None:
            self._untrusted = True  # an unknown hash: say so rather than "no query"
            context.query = _PLACEHOLDER

    def on_parse(self) -> Iterator[None]:
        if self._untrusted:
            raise HubError(Code.OPERATION_NOT_TRUSTED)
        context = self.execution_context
        settings = self._settings()
        max_tokens = settings.graphql_max_tokens if settings else 2000
        assert context.query is not None
        context.graphql_document = _parse(context.query, max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        settings = self._settings()
        assert context.graphql_document is not None
        schema = context.schema._schema
        production = settings is not None and settings.mode is Mode.PRODUCTION
        errors: list[GraphQLError] = []
        assert context.query is not None
        max_tokens = settings.graphql_max_tokens if settings else 2000
        if settings is not None:
            limits = Limits.of(settings)
            found = plan(schema, context.query, context.operation_name, limits)
            self._operation = found.operation
            try:
                if found.refusal is not None:
                    errors = [found.refusal.error()]
                elif found.introspects and production and not _may_introspect(context.context):
                    raise HubError(
                        Code.INTROSPECTION_DISABLED, url=f"{settings.issuer}/schema.graphql"
                    )
                else:
                    check_variables(found, context.variables, limits)
            except HubError as error:
                errors = [GraphQLError(error.problem.message, found.node, original_error=error)]
        if not errors:
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            errors = _validate(schema, context.query, max_tokens, rules, production)
        context.pre_execution_errors = errors
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        settings = self._settings()
        seconds = settings.graphql_timeout_seconds if settings else 0
        if not seconds or self._operation is not OperationType.QUERY:
            yield
            return
        try:
            async with asyncio.timeout(seconds):
                yield
        except TimeoutError:
            raise HubError(Code.QUERY_TIMEOUT, seconds=_seconds(seconds)) from None


def _seconds(seconds: float) -> str:
    return f"{seconds:g}".replace(".", ",")


def _may_introspect(context: Any) -> bool:
    caller = getattr(context, "caller_or_none", None)
    return caller is not None and SCHEMA_SCOPE in caller.scopes
