"""panva's node-oidc-provider (OpenID Certified), run from ``tests/foreign/oidc-provider``:
an OpenID provider the hub's authors did not write, started on loopback for the tests
that need one (the adapter's contract tests, the hub's sign-in end to end).

The browser's part — the provider's own login and consent forms — is played by httpx,
which keeps the provider's cookies, fills in the forms and follows the redirects until
the provider sends the browser back to the relying party.

Node and the npm packages are required: CI installs them (``npm ci --prefix
tests/foreign/oidc-provider``); without them the tests fail, never skip.
"""

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import lxml.html
import pytest

from hub.adapters.identity.oidc.protocol import WELL_KNOWN_PATH
from hub.adapters.signing.simulator import free_port

FOREIGN = Path(__file__).parent / "foreign" / "oidc-provider"
#: The scope that makes node-oidc-provider's userinfo carry the claim ``personal_id``.
SCOPE = "openid profile personal_id"


@dataclass(frozen=True)
class Foreign:
    """node-oidc-provider running, and its one client's credentials."""

    issuer: str
    client_id: str
    client_secret: str


@contextmanager
def foreign_provider(
    *,
    client_id: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    accounts: dict[str, dict[str, Any]],
    log_dir: Path,
) -> Iterator[Foreign]:
    """node-oidc-provider on a free port of 127.0.0.1 (issuer ``http://127.0.0.1:<port>``)
    with one client (``client_secret_basic``, PKCE required) and ``accounts``:
    accountId → the claims it holds (``personal_id``, ``name``, ``birthdate``…)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the foreign OpenID provider needs Node.js 20 or later")
    if not (FOREIGN / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "node-oidc-provider is not installed: run npm ci --prefix tests/foreign/oidc-provider"
        )
    port = free_port("127.0.0.1")
    issuer = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)
    client = {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout_redirect_uris,
    }
    env = os.environ | {
        "OIDC_PORT": str(port),
        "OIDC_CLIENT": json.dumps(client),
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    log = log_dir / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [node, "server.mjs"], cwd=FOREIGN, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for_discovery(issuer, process, log)
        yield Foreign(issuer, client_id, secret)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_discovery(issuer: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"node server.mjs exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(issuer + WELL_KNOWN_PATH, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"node-oidc-provider did not answer at {issuer} within 30 s")


async def sign_in_at_provider(url: str, account: str, redirect_uri: str) -> str:
    """The person at node-oidc-provider's own pages, from the authorization request
    ``url``: the address the provider sends the browser back to (``redirect_uri?…``).

    Its login form takes any password; its consent form is a button. Every page the
    provider shows is a form, submitted as a browser would."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri + "?"):
                    return location
                response = await browser.get(location)
                continue
            assert response.status_code == 200, response.text
            form = lxml.html.fromstring(response.text).forms[0]
            fields = dict(form.form_values())
            if "login" in form.fields:
                fields |= {"login": account, "password": "any"}
            response = await browser.post(urljoin(str(response.url), form.action), data=fields)
    raise AssertionError("node-oidc-provider never sent the browser back")
