"""Server-rendered pages (Jinja2, autoescaped): Vietnamese first, no external assets.

Templates live in ``hub/web/templates``; the one stylesheet in ``hub/web/static``
is served at ``/static`` so pages work on a school LAN without internet.
"""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from hub.domain.problems import MESSAGES, Code

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template`` with ``context``; never cached (it may name a person)."""
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def problem_page(code: Code, status: int, **details: Any) -> HTMLResponse:
    """A page saying, in plain Vietnamese, why the request stopped (with its stable code)."""
    message = MESSAGES[code].format(**details) if details else MESSAGES[code]
    return render("problem.html", status, code=code.value, message=message)
