"""The demo's GraphiQL works with no internet (issue 12): the page, its scripts and its
styles all come from the hub; a demo user pastes the bearer token in Headers and runs
a query."""

import json

import httpx
from playwright.async_api import expect

from hub.db.engine import Database
from hub.domain.enums import OrgLevel
from tests.browser.conftest import Hub, Offline
from tests.helpers import data, gql, register, token_for
from tests.world import World

QUERY = "{ schools(first: 50) { edges { node { name level } } } }"


async def test_graphiql_runs_a_query_with_the_network_cut_off(
    served_hub: Hub, offline: Offline, db: Database, world: World
) -> None:
    async with httpx.AsyncClient(base_url=served_hub.url, timeout=15) as http:
        token = await token_for(http, *await register(db, org=OrgLevel.DEPARTMENT))
        expected = await gql(http, token, QUERY)
    first_school = data(expected)["schools"]["edges"][0]["node"]["name"]
    page = offline.page

    answer = await page.goto(f"{served_hub.url}/graphql")
    assert answer is not None and answer.status == 200
    csp = await answer.header_value("content-security-policy")
    assert csp is not None and "script-src 'self';" in csp and "http" not in csp

    query_editor = page.locator(".graphiql-query-editor .CodeMirror")
    await expect(query_editor).to_be_visible(timeout=15_000)
    await query_editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(QUERY)

    headers_editor = page.locator(".graphiql-editor-tool .CodeMirror").locator("visible=true")
    await expect(headers_editor).to_be_visible()
    await headers_editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))

    await page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response .CodeMirror")
    await expect(response).to_contain_text('"data"', timeout=15_000)
    await expect(response).to_contain_text(first_school)
    assert "errors" not in await response.inner_text()

    shot = await offline.screenshot("graphiql")
    assert shot.stat().st_size > 10_000
    assert offline.aborted == []
    assert offline.console_errors == []
