"""Server-rendered pages (Jinja2, autoescaped): Vietnamese first, no external assets.

Templates live in ``hub/web/templates``; the one stylesheet in ``hub/web/static``
is served at ``/static`` so pages work on a school LAN without internet. Every word
a template shows comes from the language's catalogue (:mod:`hub.web.i18n`) through
``t('key')``; :func:`render` picks the language from the request.
"""

from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from hub.domain.problems import MESSAGES, MESSAGES_EN, Code, Problem
from hub.web import i18n

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template`` with ``context`` in the request's language; never cached
    (it may name a person). Templates get ``t``, ``lang`` and the switch's addresses, and
    ``base.html`` the signed-in person's outage banner: its lines (``outage_banner``) and
    where its script asks again (``outage_poll``), as :class:`hub.web.outage.OutageBanner`
    left them in the request's state."""
    language = i18n.language_of(request)
    state = request.scope.get("state") or {}
    html = environment.get_template(template).render(
        t=partial(i18n.translate, language),
        lang=language,
        languages={other: i18n.switch_url(request, other) for other in i18n.LANGUAGES},
        outage_banner=state.get("outage_banner") or [],
        outage_poll=state.get("outage_poll"),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
    i18n.remember(request, response)
    return response


def problem_page(
    request: Request,
    code: Code,
    status: int,
    *,
    link: tuple[str, str] = ("/login", "problem.sign_in_again"),
    **details: Any,
) -> HTMLResponse:
    """A page saying, in the reader's language, why the request stopped (with its stable
    code); ``link`` is where to go next: an address and its catalogue key."""
    messages = MESSAGES_EN if i18n.language_of(request) == "en" else MESSAGES
    message = messages[code].format(**details) if details else messages[code]
    return render(request, "problem.html", status, code=code.value, message=message, link=link)


def problem_message(request: Request, problem: Problem) -> str:
    """A problem's message in the reader's language (Vietnamese when it has no English)."""
    english = i18n.language_of(request) == "en"
    return (problem.message_en if english else "") or problem.message


def to_login(next_url: str) -> RedirectResponse:
    """Off to sign in, then back to ``next_url`` (a path on the hub)."""
    target = f"/login?{urlencode({'next': next_url})}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
