"""What one GraphQL request may ask, and what its errors may say (issue "Guard the data").

1. unbounded queries are refused before anything runs (depth, aliases, tokens,
   directives, cost, every ``first``), a query has a time budget, and an operator may
   serve trusted documents only;
2. production has no GraphiQL, no introspection without ``schema:read`` and no
   "Did you mean …?";
3. every error has a stable code, Vietnamese and English, and nothing internal;
4. GraphQL over HTTP: ``application/graphql-response+json`` request errors are 400
   without ``data``.
"""

import base64
import hashlib
import json
from collections import deque

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type
from sqlalchemy import func, select
from structlog.testing import capture_logs

from hub.config import Mode
from hub.db import models
from hub.domain.enums import OrgLevel
from hub.resolvers import queries
from hub.schema.api import schema
from hub.web.app import create_app
from tests.helpers import client_token, data, error_codes

GRAPHQL_RESPONSE = "application/graphql-response+json"
GUARDIAN_PAGE = "students(first: 500) { nodes { guardians { guardian { phone } } } }"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _fill(template: str, value: str) -> str:
    """``template`` with ``%s`` replaced (GraphQL's braces make f-strings unreadable)."""
    return template.replace("%s", value)


def _aliased(field: str, count: int) -> str:
    return _fill("{ %s }", " ".join(f"a{i}: {field}" for i in range(count)))


def _client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


async def _post(
    http: httpx.AsyncClient,
    token: str | None,
    query: str | None,
    variables: dict | None = None,
    accept: str | None = None,
    **body: object,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    payload = {"query": query, "variables": variables or {}, **body}
    return await http.post("/graphql", json=payload, headers=headers)


async def _ask(http, token, query, variables=None, **body) -> dict:  # type: ignore[no-untyped-def]
    response = await _post(http, token, query, variables, **body)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_presented(result: dict) -> None:
    """Every error: a stable code, Vietnamese and English, nothing from inside."""
    assert result.get("errors"), result
    for error in result["errors"]:
        assert error["extensions"]["code"], error
        assert error["message"] and error["extensions"]["messageEn"], error
    text = json.dumps(result)
    for leak in ("SELECT", "sqlite", "Traceback", "Python", "invalid literal", "Error(", "0x7f"):
        assert leak not in text, (leak, text[:500])


@pytest.fixture(scope="module")
async def department(db, world, http) -> str:
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


@pytest.fixture(scope="module")
def production(settings, app):  # type: ignore[no-untyped-def]
    """Production settings (the session app has made the token signing key)."""
    return settings.model_copy(update={"mode": Mode.PRODUCTION})


async def _access_log_rows(db) -> int:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(models.AccessLog)))


# --- 1. unbounded queries -----------------------------------------------------------------


async def test_a_hundred_aliased_pages_of_guardians_are_refused_before_anything_runs(
    http, db, department
):
    before = await _access_log_rows(db)
    result = await _ask(http, department, _aliased(GUARDIAN_PAGE, 100))
    assert error_codes(result) == ["QUERY_TOO_MANY_TOKENS"]  # ~2,100 tokens: not even parsed
    assert result["data"] is None
    result = await _ask(http, department, _aliased("students(first: 500) { totalCount }", 20))
    assert error_codes(result) == ["QUERY_TOO_MANY_ALIASES"]
    # Within the alias limit, the cost still refuses ten such pages (10 × 10,501 objects).
    result = await _ask(http, department, _aliased(GUARDIAN_PAGE, 10))
    assert error_codes(result) == ["QUERY_TOO_COSTLY"]
    assert "chi phí ước tính" in result["errors"][0]["message"]
    assert await _access_log_rows(db) == before  # nothing was read
    _assert_presented(result)
    # One such page is too much at once (10,501 objects); 200 pupils with their guardians
    # (4,201) are a legitimate request.
    assert error_codes(await _ask(http, department, f"{{ {GUARDIAN_PAGE} }}")) == [
        "QUERY_TOO_COSTLY"
    ]
    smaller = GUARDIAN_PAGE.replace("first: 500", "first: 200")
    assert len(data(await _ask(http, department, _fill("{ %s }", smaller)))["students"]["nodes"])


async def test_the_cost_counts_page_sizes_given_as_variables(http, department):
    query = """query($n: Int!) {
      a: students(first: $n) { nodes { guardians { guardian { phone } } } }
      b: students(first: $n) { nodes { guardians { guardian { phone } } } } }"""
    assert error_codes(await _ask(http, department, query, {"n": 500})) == ["QUERY_TOO_COSTLY"]
    assert data(await _ask(http, department, query, {"n": 100}))["a"]["nodes"]


async def test_a_query_43_levels_deep_is_refused(http, department):
    inner = "serialNumber"
    for _ in range(20):
        inner = f"certificates {{ staff {{ {inner} }} }}"
    query = _fill("{ staff(first: 1) { nodes { %s } } }", inner)
    result = await _ask(http, department, query)
    assert error_codes(result) == ["QUERY_TOO_DEEP"]
    assert "(43 tầng; tối đa 10)" in result["errors"][0]["message"]
    assert "(43 levels; at most 10)" in result["errors"][0]["extensions"]["messageEn"]


async def test_thousands_of_aliases_are_refused_by_the_token_limit(http, department):
    result = await _ask(http, department, _aliased("__typename", 3334))
    assert error_codes(result) == ["QUERY_TOO_MANY_TOKENS"]
    _assert_presented(result)
    result = await _ask(http, department, _aliased("me { clientId }", 16))
    assert error_codes(result) == ["QUERY_TOO_MANY_ALIASES"]


async def test_too_many_directives_are_refused(http, department):
    result = await _ask(
        http, department, _fill("{ %s }", "me @include(if: true) { clientId } " * 51)
    )
    assert error_codes(result) == ["QUERY_TOO_MANY_DIRECTIVES"]


def _paths_to_first_arguments() -> list[str]:
    """A query reaching every field that takes ``first`` (other arguments left out: the
    guard refuses ``first`` before validation looks at the rest)."""
    graphql_schema = schema._schema
    query_type = graphql_schema.query_type
    found: list[str] = []
    seen = {query_type.name}
    queue: deque[tuple[GraphQLObjectType, list[str]]] = deque([(query_type, [])])
    while queue:
        parent, path = queue.popleft()
        for name, definition in parent.fields.items():
            named = get_named_type(definition.type)
            if "first" in definition.args:
                leaf = "{ __typename }" if isinstance(named, GraphQLObjectType) else ""
                query = f"{name}(first: FIRST) {leaf}"
                for outer in reversed(path):
                    query = f"{outer} {{ {query} }}"
                found.append(_fill("{ %s }", query))
            if isinstance(named, GraphQLObjectType) and named.name not in seen:
                seen.add(named.name)
                queue.append((named, [*path, name]))
    return found


async def test_first_is_checked_on_every_list_field_that_takes_it(http, department):
    queries_with_first = _paths_to_first_arguments()
    assert any("certificateRefreshRuns" in q for q in queries_with_first)
    assert any("steps(first" in q for q in queries_with_first)
    for query in queries_with_first:
        for bad in ("-1", "0", "501"):
            result = await _ask(http, department, query.replace("FIRST", bad))
            assert error_codes(result) == ["INVALID_ARGUMENT"], (query, bad, result)
    query = "query($n: Int!) { certificateRefreshRuns(first: $n) { jobId } }"
    for bad in (-1, 0):
        result = await _ask(http, department, query, {"n": bad})
        assert error_codes(result) == ["INVALID_ARGUMENT"], result
        assert "1–500" in result["errors"][0]["message"]


async def test_a_query_over_its_time_budget_is_stopped(settings, db, world, department):
    hasty = settings.model_copy(update={"graphql_timeout_seconds": 0.000001})
    async with _client(create_app(hasty, db)) as http:
        result = await _ask(
            http, department, "{ students(first: 100) { totalCount nodes { id } } }"
        )
    assert error_codes(result) == ["QUERY_TIMEOUT"]
    _assert_presented(result)


async def test_production_may_serve_registered_documents_only(
    production, db, world, department, tmp_path
):
    known = "query Me { me { clientId } }"
    digest = hashlib.sha256(known.encode()).hexdigest()
    documents = tmp_path / "trusted.json"
    documents.write_text(json.dumps({digest: known}))
    trusted = production.model_copy(update={"graphql_trusted_documents_file": documents})
    async with _client(create_app(trusted, db)) as http:
        by_hash = await _ask(
            http,
            department,
            None,
            extensions={"persistedQuery": {"version": 1, "sha256Hash": digest}},
        )
        assert data(by_hash)["me"]["clientId"]
        assert data(await _ask(http, department, known))["me"]["clientId"]
        refused = await _ask(http, department, "{ me { clientId scopes } }")
        assert error_codes(refused) == ["OPERATION_NOT_TRUSTED"]
        unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
        assert error_codes(await _ask(http, department, None, extensions=unknown)) == [
            "OPERATION_NOT_TRUSTED"
        ]
    demo = trusted.model_copy(update={"mode": Mode.DEMO})
    async with _client(create_app(demo, db)) as http:
        assert data(await _ask(http, department, "{ me { clientId scopes } }"))["me"]["scopes"]


# --- 2. production mode -------------------------------------------------------------------


async def test_production_serves_no_graphiql(production, db, world):
    async with _client(create_app(production, db)) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "graphiql" not in page.text.lower()


async def test_production_refuses_introspection_without_the_schema_scope(
    production, db, http, world, department
):
    introspect = "{ __schema { queryType { name } } }"
    assert data(await _ask(http, department, introspect))  # demo: open
    reader = await client_token(db, http, org=OrgLevel.DEPARTMENT, scopes=["schema:read"])
    async with _client(create_app(production, db)) as strict:
        result = await _ask(strict, department, introspect)
        assert error_codes(result) == ["INTROSPECTION_DISABLED"]
        assert "http://hub.test/schema.graphql" in result["errors"][0]["message"]
        assert "http://hub.test/schema.graphql" in result["errors"][0]["extensions"]["messageEn"]
        assert error_codes(await _ask(strict, None, '{ __type(name: "Student") { name } }')) == [
            "INTROSPECTION_DISABLED"
        ]
        assert data(await _ask(strict, reader, introspect))["__schema"]["queryType"]["name"]
        assert data(await _ask(strict, department, "{ __typename }"))  # not introspection


async def test_production_suggests_no_field_names(production, db, http, world, department):
    typo = "{ studentz(first: 1) { totalCount } }"
    demo = await _ask(http, department, typo)
    assert error_codes(demo) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" in demo["errors"][0]["extensions"]["detail"]
    async with _client(create_app(production, db)) as strict:
        for query, variables in [
            (typo, None),
            (
                "query($f: StudentFilter) { students(filter: $f) { totalCount } }",
                {"f": {"nam": "x"}},
            ),
        ]:
            response = await _post(strict, department, query, variables)
            assert "Did you mean" not in response.text and "students" not in response.text.replace(
                "students(filter", ""
            ), response.text
            assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
            _assert_presented(response.json())


# --- 3. errors ----------------------------------------------------------------------------


async def test_a_60000_character_name_is_refused_before_sql(http, department):
    name = "x" * 60_000
    result = await _ask(
        http, department, _fill('{ students(filter: {name: "%s"}) { totalCount } }', name)
    )
    assert error_codes(result) == ["TEXT_TOO_LONG"]
    assert "filter.name" in result["errors"][0]["message"]
    _assert_presented(result)
    query = "query($f: StudentFilter) { students(filter: $f) { totalCount } }"
    result = await _ask(http, department, query, {"f": {"name": name}})
    assert error_codes(result) == ["TEXT_TOO_LONG"]
    _assert_presented(result)


async def test_malformed_and_out_of_range_ids_and_cursors_are_invalid_id(http, world, department):
    huge_school = _b64("School:" + "9" * 30)
    cases = [
        (_fill('{ students(filter: {schoolId: "%s"}) { totalCount } }', huge_school), None),
        (
            _fill(
                '{ students(filter: {schoolId: "%s"}) { totalCount } }', _b64("School:2147483648")
            ),
            None,
        ),
        (_fill('{ node(id: "%s") { id } }', _b64("Student:²")), None),
        (_fill('{ node(id: "%s") { id } }', _b64("Student:" + "9" * 25)), None),
        (_fill('{ node(id: "%s") { id } }', _b64("Nothing:1")), None),
        ('{ node(id: "@@@not base64") { id } }', None),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": "@@@"}),
        (_fill('{ students(after: "%s") { totalCount } }', _b64("after:" + "9" * 25)), None),
        (_fill('{ students(after: "%s") { totalCount } }', _b64("after:-1")), None),
    ]
    for query, variables in cases:
        result = await _ask(http, department, query, variables)
        assert error_codes(result) == ["INVALID_ID"], (query, result)
        _assert_presented(result)
    school = _b64(f"School:{world.schools['A'].id}")
    assert data(await _ask(http, department, _fill('{ node(id: "%s") { id } }', school)))["node"]


async def test_an_unexpected_exception_is_internal_error_with_a_correlation_id(
    http, department, monkeypatch
):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("SELECT secret FROM schools at 0x7f00")

    monkeypatch.setattr(queries, "schools", broken)
    with capture_logs() as logs:
        result = await _ask(http, department, "{ schools { totalCount } }")
    assert error_codes(result) == ["INTERNAL_ERROR"]
    _assert_presented(result)
    correlation_id = result["errors"][0]["extensions"]["correlationId"]
    assert correlation_id in result["errors"][0]["message"]
    logged = [e for e in logs if e.get("correlation_id") == correlation_id]
    assert logged and isinstance(logged[0]["exc_info"], RuntimeError)


async def test_parse_and_validation_failures_have_stable_codes(http, department):
    parse_failure = await _ask(http, department, "{ students(first: ")
    assert error_codes(parse_failure) == ["GRAPHQL_PARSE_FAILED"]
    _assert_presented(parse_failure)
    invalid = await _ask(
        http, department, '{ students(filter: {birthDateFrom: "x"}) { totalCount } }'
    )
    assert error_codes(invalid) == ["GRAPHQL_VALIDATION_FAILED"]
    _assert_presented(invalid)
    no_query = await http.post("/graphql", json={"variables": {}})
    assert no_query.status_code == 400
    assert error_codes(no_query.json()) == ["INVALID_ARGUMENT"]


# --- 4. GraphQL over HTTP -----------------------------------------------------------------


async def test_graphql_response_json_answers_request_errors_with_400_and_no_data(http, department):
    accept = f"{GRAPHQL_RESPONSE}, application/json;q=0.9"
    for query in (
        "{ students(first: ",
        "{ studentz { totalCount } }",
        "{ students(first: -1) { totalCount } }",
    ):
        response = await _post(http, department, query, accept=accept)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json() and response.json()["errors"]
        classic = await _post(http, department, query, accept="application/json")
        assert classic.status_code == 200 and classic.json()["data"] is None
        assert classic.headers["content-type"].startswith("application/json")
    ok = await _post(http, department, "{ me { clientId } }", accept=accept)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ok.json()["data"]["me"]["clientId"]
    # A field error is not a request error: 200, with data.
    field_error = await _post(http, None, "{ me { clientId } }", accept=accept)
    assert field_error.status_code == 200 and "data" in field_error.json()


async def test_a_file_argument_takes_only_a_multipart_file(http, department):
    literal = await _ask(http, department, 'mutation { verifyDocument(file: "") { verdict } }')
    assert error_codes(literal) == ["INVALID_ARGUMENT"]
    query = "mutation($f: Upload!) { verifyDocument(file: $f) { verdict } }"
    assert error_codes(await _ask(http, department, query, {"f": "not a file"})) == [
        "INVALID_ARGUMENT"
    ]


async def test_a_nul_byte_in_any_string_is_refused_before_anything_runs(http, department):
    """Fuzzing found: a NUL in a mutation's lookup key reached PostgreSQL (INTERNAL_ERROR)."""
    literal = """mutation { upsertYearRecords(rows: [{studentPersonalId: "a\\u0000b"}]) {
      created } }"""
    assert error_codes(await _ask(http, department, literal)) == ["TEXT_CONTROL_CHARACTERS"]
    variable = """mutation($r: [YearRecordInput!]!) { upsertYearRecords(rows: $r) { created } }"""
    result = await _ask(http, department, variable, {"r": [{"studentPersonalId": "a\x00b"}]})
    assert error_codes(result) == ["TEXT_CONTROL_CHARACTERS"]
