"""Input fuzzing of the GraphQL API: 0 server errors, 0 leaked internals.

Operations come from the schema's SDL through hypothesis-graphql: queries and
mutations valid for the schema, their arguments filled with hostile values (huge
and negative integers, long strings, control characters, odd Unicode, malformed
global IDs and cursors, impossible dates and decimals), plus operations with one
schema violation (hypothesis-graphql's negative mode) and fixed operations fed
random JSON variables. Each is sent over HTTP through the ASGI app, with the token
of a department-wide client holding every scope and without any token.

Every answer must be below 500 and JSON; every error carries an ``extensions.code``
from :class:`hub.domain.problems.Code` (which also names the GraphQL-level codes:
GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, QUERY_*), none is INTERNAL_ERROR;
and nothing in the body shows the server's insides (tracebacks, SQL, driver or
class names, Python's own messages).

Mutations write, so the fuzz runs on a province of its own (``own``, see
conftest.py). The run is bounded (``max_examples``) and derandomized, so CI sees
the same operations every time; the whole file takes well under a minute.
"""

import base64
import re
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, queries
from hypothesis_graphql import nodes as gql_nodes

from hub.domain.enums import OrgLevel
from hub.domain.problems import Code
from hub.web.app import schema_sdl
from tests.helpers import client_token

pytestmark = pytest.mark.integration

SDL = schema_sdl()
CODES = frozenset(code.value for code in Code)

#: Codes that mean the server failed, not the request: never acceptable.
SERVER_FAILURES = ("INTERNAL_ERROR", "TRANSCRIPT_DRAFT_FAILED")

#: Text that only an unmasked exception, a query or a repr would put in a body.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    " object at 0x",
    "Error(",
    "invalid literal",
    "Python int",
)
LEAK_MARKERS_ANY_CASE = ("sqlalchemy", "psycopg", "sqlite", "aiosqlite", "asyncpg")
#: Python exception class names (``IntegrityError``, ``KeyError``, ``InvalidOperation``…).
LEAK_PATTERN = re.compile(
    r"\b[A-Za-z]*(?:Error|Exception|Warning)\b|\bInvalidOperation\b|\bdecimal\.|"
    r"\bStopIteration\b|\b(?:exc_info|__\w+__)\b"
)

#: Derandomized: CI sends the same operations every run. No shrinking: a failing
#: request costs the server seconds of traceback logging, and CI's time is bounded;
#: the operations are small enough to read as found.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


# --- argument values -----------------------------------------------------------------------

NODE_TYPES = ["Certificate", "District", "School", "SchoolClass", "Staff", "Student", "Transcript"]
SCHOOL_CODES = ["01LBA", "01LBB", "01CGC", "01CGD", "01CGW"]
SUBJECT_CODES = ["TOAN", "NGU_VAN", "TIENG_VIET", "KHTN", "HDTN", "DAO_DUC"]

#: Inputs that have broken services elsewhere: control and invisible characters,
#: bidi overrides, combining marks, astral characters, format strings, SQL, paths.
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "\x1b[31mred\x1b[0m",
    "\x7f\x80\x9f",
    "\u200b",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u202eevil\u202c",
    "\u0301" * 64,
    "e\u0301" * 300,
    "\ufffd\uffff\ufffe",
    "\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0010ffff",
    "\U0001d573\U0001d58a",
    "Nguyễn Văn A",
    "NGUYỄN  văn   a",
    "Ｎｇｕｙｅｎ",
    "'; DROP TABLE students; --",
    "' OR 1=1 --",
    '" OR ""="',
    "%s%s%s%n",
    "{field}",
    "{0}{1}",
    "{__class__}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "null",
    "NaN",
    "-Infinity",
    "1e999999",
    "-1",
    "0",
    "²",
    "١٢٣",
    "9" * 19,
    "9" * 40,
    "2025-2026",
    "2025-2024",
    "9999-10000",
    "A" * 5000,
    "x" * 70_000,
]

IDENTIFIER_LIKE = st.one_of(
    st.sampled_from(SCHOOL_CODES + SUBJECT_CODES + ["6A1", "7A1", "1A1", "HSA00001"]),
    # personal-ID shaped: 12 digits, a known province prefix, sometimes not quite.
    st.builds(
        lambda body, tail: f"001{body:09d}{tail}",
        st.integers(0, 10**9 - 1),
        st.sampled_from(["", "", "", "0", "x"]),
    ),
)

LONG_TEXT = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "ệ", "\u0301", "\U0001f600", "\x01", " "]),
    st.integers(min_value=101, max_value=20_000),
)

TEXT = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(max_size=30),  # any code point but lone surrogates (not encodable)
    IDENTIFIER_LIKE,
    LONG_TEXT,
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


KEY_TEXT = st.one_of(
    st.integers(min_value=1, max_value=150).map(str),
    st.sampled_from(
        ["0", "-1", "1.5", "1e3", "0x10", " 1", "1 ", "²", "١", "9" * 19, "9" * 30, ""]
    ),
    st.text(max_size=12),
)

GLOBAL_ID = st.builds(
    lambda type_name, key: _b64(f"{type_name}:{key}"),
    st.sampled_from([*NODE_TYPES, "Nope", "", "after", "Query", "AccessLogEntry"]),
    KEY_TEXT,
)

CURSOR = st.one_of(
    st.builds(lambda key: _b64(f"after:{key}"), KEY_TEXT),
    st.binary(max_size=24).map(lambda raw: base64.b64encode(raw).decode("ascii")),
    st.sampled_from(["====", "YWZ0ZXI6", "!!!", "after:1", "YWZ0ZXI6MQ"]),
)

ID_VALUES = st.one_of(
    GLOBAL_ID.map(gql_nodes.String),
    CURSOR.map(gql_nodes.String),
    TEXT.map(gql_nodes.String),
    st.integers(min_value=-(2**31), max_value=2**31 - 1).map(gql_nodes.Int),
)

STRING_VALUES = st.one_of(TEXT, CURSOR, GLOBAL_ID).map(gql_nodes.String)

INT_VALUES = st.one_of(
    st.sampled_from([0, 1, -1, 2, 100, 499, 500, 501, 1000, 1001, 2**31 - 1, -(2**31)]),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    # beyond GraphQL's 32-bit Int: must be refused as a validation error, not crash.
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**30, -(10**30)]),
).map(gql_nodes.Int)

FLOAT_VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(gql_nodes.Float),
    st.sampled_from(["1e308", "-1e308", "1e-320", "0.0", "-0.0"]).map(
        lambda text: graphql.FloatValueNode(value=text)
    ),
)

# fmt: off
DECIMAL_TEXT = [
    "0", "10", "10.0", "9.5", "8.25", "-0", "-1", "10.05", "11", "1e2", "1E-2", "NaN", "sNaN",
    "Infinity", "-Infinity", "1e999999999", "0." + "0" * 500 + "1", "9" * 60, "", "abc",
]
DATE_TEXT = [
    "2025-02-30", "2025-13-01", "0000-01-01", "10000-01-01", "2025-1-1", "20250101", "yesterday",
    "", "2025-09-05T00:00:00", "-2025-01-01", "2025-09-05\x00",
]
DATETIME_TEXT = [
    "2025-09-05T25:61:61Z", "2025-09-05", "2025-09-05T00:00:00+99:00", "now", "",
    "9999-12-31T23:59:59", "0001-01-01T00:00:00-23:59",
]
# fmt: on

DECIMAL_VALUES = st.one_of(
    st.sampled_from(DECIMAL_TEXT).map(gql_nodes.String),
    st.decimals(allow_nan=True, allow_infinity=True).map(gql_nodes.String),
    INT_VALUES,
    FLOAT_VALUES,
)

DATE_VALUES = st.one_of(
    st.dates().map(lambda day: gql_nodes.String(day.isoformat())),
    st.sampled_from(DATE_TEXT).map(gql_nodes.String),
    INT_VALUES,
)

DATETIME_VALUES = st.one_of(
    st.datetimes().map(lambda moment: gql_nodes.String(moment.isoformat())),
    st.sampled_from(DATETIME_TEXT).map(gql_nodes.String),
    INT_VALUES,
)

JSON_VALUES = st.recursive(
    st.one_of(STRING_VALUES, INT_VALUES, FLOAT_VALUES, st.booleans().map(gql_nodes.Boolean)),
    lambda children: st.lists(children, max_size=3).map(gql_nodes.List),
    max_leaves=6,
)

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Int": INT_VALUES,
    "Float": FLOAT_VALUES,
    "String": STRING_VALUES,
    "ID": ID_VALUES,
    "Decimal": DECIMAL_VALUES,
    "Date": DATE_VALUES,
    "DateTime": DATETIME_VALUES,
    "JSON": JSON_VALUES,
    # A multipart upload cannot be sent inline; anything inline must be refused cleanly.
    "Upload": STRING_VALUES,
}

_SCHEMA = graphql.build_schema(SDL)
assert _SCHEMA.query_type is not None and _SCHEMA.mutation_type is not None
# Half the operations select one root field, drawn evenly (so every field is reached
# within a small budget), half select several (hypothesis-graphql's own choice).
QUERIES = st.one_of(
    st.one_of(
        *(queries(SDL, fields=[name], custom_scalars=SCALARS) for name in _SCHEMA.query_type.fields)
    ),
    queries(SDL, custom_scalars=SCALARS),
)
MUTATIONS = st.one_of(
    st.one_of(
        *(
            mutations(SDL, fields=[name], custom_scalars=SCALARS)
            for name in _SCHEMA.mutation_type.fields
        )
    ),
    mutations(SDL, custom_scalars=SCALARS),
)
VIOLATIONS = from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE)
ANY_OPERATION = from_schema(SDL, custom_scalars=SCALARS)

ACCEPT = st.sampled_from(
    ["application/json", "application/graphql-response+json", "*/*", ""],
)


# --- the checks ----------------------------------------------------------------------------


def _leaks(body: str, query: str) -> list[str]:
    """What in ``body`` looks like the server's insides (not counting echoes of ``query``)."""
    found = [m for m in LEAK_MARKERS if m in body and m not in query]
    lowered, lowered_query = body.lower(), query.lower()
    found += [m for m in LEAK_MARKERS_ANY_CASE if m in lowered and m not in lowered_query]
    found += sorted({m.group(0) for m in LEAK_PATTERN.finditer(body) if m.group(0) not in query})
    return found


def check(response: httpx.Response, query: str, variables: Any = None) -> dict[str, Any]:
    """Assert the response is a clean answer; return its JSON."""
    shown = (
        f"\nquery: {query!r}\nvariables: {variables!r}"
        f"\n{response.status_code} {response.text[:3000]}"
    )
    assert response.status_code < 500, f"server error{shown}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"body is not JSON{shown}") from None
    assert isinstance(body, dict), f"body is not a JSON object{shown}"
    errors = body.get("errors")
    if errors is None and "code" in body:  # a refusal before GraphQL (body limit)
        errors = [{"extensions": {"code": body["code"]}}]
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in CODES, f"error without a stable code: {error!r}{shown}"
        assert code not in SERVER_FAILURES, f"server failure {code}{shown}"
    for code in SERVER_FAILURES:
        assert f'"{code}"' not in response.text, f"server failure {code} in data{shown}"
    leaks = _leaks(response.text, f"{query}\n{variables!r}")
    assert not leaks, f"leaked internals {leaks}{shown}"
    return body


async def post(
    http: httpx.AsyncClient,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
    accept: str = "application/json",
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    response = await http.post("/graphql", json=payload, headers=headers)
    return check(response, query, variables)


# --- fixtures ------------------------------------------------------------------------------


class Target:
    """The fuzz's own province over HTTP and a department-wide token for it."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    def __repr__(self) -> str:  # a failing example is printed without the token
        return "Target(own province, department-wide token)"


@pytest.fixture(scope="module")
async def target(own) -> Target:  # type: ignore[no-untyped-def]
    """A department-wide client holding every scope, on the fuzz's own province."""
    return Target(own.http, await client_token(own.db, own.http, org=OrgLevel.DEPARTMENT))


# --- the fuzz ------------------------------------------------------------------------------


@settings(FUZZ, max_examples=300)
@given(query=QUERIES, accept=ACCEPT)
async def test_queries_with_hostile_arguments(target: Target, query: str, accept: str) -> None:
    await post(target.http, target.token, query, accept=accept)


@settings(FUZZ, max_examples=350)
@given(mutation=MUTATIONS, accept=ACCEPT)
@example(mutation='mutation { verifyDocument(file: "") { documentId } }', accept="")
async def test_mutations_with_hostile_arguments(target: Target, mutation: str, accept: str) -> None:
    await post(target.http, target.token, mutation, accept=accept)


@settings(FUZZ, max_examples=100)
@given(operation=VIOLATIONS)
async def test_operations_breaking_the_schema(target: Target, operation: str) -> None:
    body = await post(target.http, target.token, operation)
    assert body.get("errors"), f"a schema violation was accepted: {operation!r}"


@settings(FUZZ, max_examples=80)
@given(operation=ANY_OPERATION)
async def test_without_a_token(target: Target, operation: str) -> None:
    body = await post(target.http, None, operation)
    # Without a token every root field is refused: nothing is read, nothing is written.
    served = {name: value for name, value in (body.get("data") or {}).items() if value is not None}
    assert not served, f"answered without a token: {operation!r} → {body!r}"
    assert body.get("errors"), f"no refusal without a token: {operation!r} → {body!r}"


# Fixed operations, random JSON variables: graphql-core's coercion of variables (where
# a 70-bit integer or a nested object arrives as a Python value) is its own path.
VARIABLE_OPERATIONS = [
    "query($first: Int, $after: String) { students(first: $first, after: $after)"
    " { totalCount edges { cursor node { id fullName } } } }",
    "query($id: ID!) { node(id: $id) { id __typename } }",
    "query($since: Int!, $first: Int) { changes(since: $since, first: $first) { __typename } }",
    "query($f: StudentFilter, $first: Int) { students(filter: $f, first: $first) { totalCount } }",
    "mutation($rows: [StudentInput!]!) { upsertStudents(rows: $rows)"
    " { rows { index status errors { code field } } } }",
    "mutation($rows: [SecondaryAssessmentInput!]!) { upsertSecondaryAssessments(rows: $rows)"
    " { rows { index status errors { code } } } }",
    "mutation($rows: [GuardianLinkInput!]!) { upsertGuardianLinks(rows: $rows)"
    " { rows { index status errors { code } } } }",
    "mutation($file: Upload!) { verifyDocument(file: $file) { documentId } }",
]

#: Every input object's field names: the keys a hostile object is made of.
INPUT_FIELDS = sorted(
    {
        name
        for type_ in _SCHEMA.type_map.values()
        if isinstance(type_, graphql.GraphQLInputObjectType)
        for name in type_.fields
    }
)

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**31, 2**63, 2**70, -(2**70), 10**40]),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
    GLOBAL_ID,
    CURSOR,
)
JSON_VALUE = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from([*INPUT_FIELDS, "x", ""]), children, max_size=5),
    ),
    max_leaves=10,
)


def _with_variables(operation: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    definition = graphql.parse(operation).definitions[0]
    assert isinstance(definition, graphql.OperationDefinitionNode)
    names = [v.variable.name.value for v in definition.variable_definitions]
    variables = st.fixed_dictionaries({}, optional=dict.fromkeys(names, JSON_VALUE))
    return st.tuples(st.just(operation), variables)


HOSTILE_VARIABLES = st.one_of(*(_with_variables(operation) for operation in VARIABLE_OPERATIONS))


@settings(FUZZ, max_examples=150)
@given(case=HOSTILE_VARIABLES)
@example(case=(VARIABLE_OPERATIONS[-1], {"file": []}))
async def test_hostile_variables(target: Target, case: tuple[str, dict[str, Any]]) -> None:
    operation, variables = case
    await post(target.http, target.token, operation, variables)
