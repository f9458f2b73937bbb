"""The demo's GraphiQL page, served by the hub itself: no file comes from the internet.

GraphiQL, React and the explorer plugin are installed from the npm registry by
``hub/web/assets/package-lock.json`` and copied into ``hub/web/static/vendor/`` by
``make install`` (also run by ``make demo`` and ``make test``); ``static/graphiql.js``
starts them. The page has nothing inline, so its CSP allows scripts and styles from the
hub only; it differs from the hub's CSP by allowing ``data:`` images and fonts (the
fonts and icons inside GraphiQL's stylesheet).

Production serves no GraphiQL (:class:`hub.web.graphql.HubGraphQL`).
"""

from starlette.responses import HTMLResponse

from hub.web.pages import STATIC

VENDOR = STATIC / "vendor"

#: What the page loads, in order, under /static (the vendored builds, then the bootstrap).
STYLES = (
    "vendor/graphiql/graphiql.min.css",
    "vendor/@graphiql/plugin-explorer/dist/style.css",
    "graphiql.css",
)
SCRIPTS = (
    "vendor/react/umd/react.production.min.js",
    "vendor/react-dom/umd/react-dom.production.min.js",
    "vendor/graphiql/graphiql.min.js",
    "vendor/@graphiql/plugin-explorer/dist/index.umd.js",
    "graphiql.js",
)

CSP = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"
)

_PAGE = """<!doctype html>
<html lang="vi">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL — hub (demo)</title>
{styles}
  </head>
  <body>
    <div id="graphiql">Đang tải GraphiQL… (Loading…)</div>
{scripts}
  </body>
</html>
"""

_MISSING = """<!doctype html>
<html lang="vi">
  <head><meta charset="utf-8"><title>GraphiQL chưa được cài đặt</title></head>
  <body>
    <h1>GraphiQL chưa được cài đặt (GraphiQL is not installed)</h1>
    <p>Chạy <code>make install</code> rồi tải lại trang.
       (Run <code>make install</code>, then reload this page.)</p>
  </body>
</html>
"""


def installed() -> bool:
    """Whether ``make install`` has copied every vendored file the page loads."""
    return all((STATIC / path).is_file() for path in (*STYLES, *SCRIPTS))


def page() -> str:
    """The page's HTML: stylesheets and scripts from /static, nothing inline."""
    styles = "\n".join(f'    <link rel="stylesheet" href="/static/{path}">' for path in STYLES)
    scripts = "\n".join(f'    <script src="/static/{path}"></script>' for path in SCRIPTS)
    return _PAGE.format(styles=styles, scripts=scripts)


def graphiql_page() -> HTMLResponse:
    """GraphiQL, or a page saying to run ``make install`` (503) when its files are missing."""
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
    if not installed():
        return HTMLResponse(_MISSING, status_code=503, headers=headers)
    return HTMLResponse(page(), headers=headers)
