"""Spreadsheet import over HTTP (issue 14): for API clients and for signed-in people.

For apps, with a bearer token (authorised as the vendor writes: the client's scopes
and schools, and the upserts check each row's reach):

- ``POST /imports/{kind}`` (multipart, the file in ``file``) → 202 and the job's id
  (the same id again, 200, for the same bytes while their job runs);
- ``GET /imports/{job_id}``: its progress, as JSON;
- ``GET /imports/{job_id}/result``: the file back with its "Kết quả" column;
- ``GET /imports/templates/{kind}.{xlsx|csv}``: the published templates (public).

For people, ``/dashboard/imports``: department and district officers (their schools)
and principals (their school) choose the kind, upload, follow the progress (reload
the page), download the result and the templates; plain HTML, no script. A person's
browser session writes what their role lets them import: the writes' scopes within
the schools of that role.

A file that is not a spreadsheet, or has no known header, is refused with a stable
code and a Vietnamese message, and nothing is stored; no answer carries an
exception's text. Uploads are capped by :class:`ImportBodyLimit`
(``HUB_IMPORT_MAX_BYTES``) and by ``HUB_IMPORT_MAX_ROWS`` rows.
"""

from dataclasses import replace
from urllib.parse import quote

import structlog
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import Caller
from hub.auth.people import session_caller
from hub.auth.sessions import SAFE_METHODS, csrf_matches
from hub.domain.problems import MESSAGES, Code, HubError, Problem
from hub.jobs import imports
from hub.spreadsheets.layouts import LAYOUTS, Layout
from hub.spreadsheets.reading import Format
from hub.spreadsheets.templates import csv_template, xlsx_template
from hub.web import i18n
from hub.web.exports import XLSX_MEDIA
from hub.web.pages import problem_message, problem_page, render, to_login
from hub.web.services import HubServices, csrf_token_of

log = structlog.get_logger(__name__)

PAGE = "/dashboard/imports"
#: What a signed-in person's import may write, within the schools of their role.
IMPORT_SCOPES = frozenset(
    {
        "students:read",
        "students:write",
        "staff:read",
        "staff:write",
        "assessments:read",
        "assessments:write",
    }
)
#: The states an import's job shows (hub.jobs.core.JobState), in words: imports.state.*.
STATES = ("RUNNING", "PAUSED", "COMPLETED", "FAILED", "CANCELLED")
MEDIA = {Format.XLSX.value: XLSX_MEDIA, Format.CSV.value: "text/csv; charset=utf-8"}


def _problem(found: Problem, status: int) -> JSONResponse:
    return JSONResponse(
        {"code": found.code.value, "message": found.message, "messageEn": found.message_en},
        status_code=status,
    )


def _status_of(code: Code) -> int:
    if code is Code.FORBIDDEN:
        return 403
    if code is Code.SPREADSHEET_TOO_MANY_ROWS:
        return 413
    if code.value.startswith("SPREADSHEET_"):
        return 422
    return 400


def _attachment(body: bytes, media: str, filename: str) -> Response:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


async def _file_of(request: Request) -> tuple[str, bytes] | None:
    """The uploaded file (``file`` field of a multipart form): its name and bytes."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    try:
        form = await request.form()
    except Exception:  # a malformed multipart body: the parser's words are for the log
        log.info("import.form_unreadable")
        return None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return None
    return (upload.filename or "bang-tinh")[:255], await upload.read()


def person_import_caller(caller: Caller) -> Caller | None:
    """What a person's browser session may import as: an officer of the department or
    a district office within their schools, a principal within their school; None for
    anyone else."""
    person = caller.person
    if person is None:
        return None
    if person.department_officer:
        schools = caller.school_ids
    elif person.principal_of:
        schools = frozenset(person.principal_of)
    else:
        return None
    return replace(caller, scopes=caller.scopes | IMPORT_SCOPES, school_ids=schools)


def import_routes(hub: HubServices) -> list[Route]:
    """The import's addresses, for :func:`hub.web.app.create_app`."""
    settings = hub.settings

    async def start(
        caller: Caller, layout: Layout, filename: str, data: bytes
    ) -> imports.Submitted:
        submitted = await imports.submit(
            hub.db,
            caller=caller,
            layout=layout,
            filename=filename,
            data=data,
            max_rows=settings.import_max_rows,
        )
        if submitted.work and hub.send_jobs is not None:
            hub.send_jobs(submitted.work)
        # Without a sender, a worker's watchdog starts the parts once they look stalled.
        return submitted

    # --- for apps ---------------------------------------------------------------------------

    async def upload(request: Request) -> Response:
        caller = await hub.caller_for(request)
        if caller is None:
            return JSONResponse(
                {"code": Code.UNAUTHENTICATED.value, "message": MESSAGES[Code.UNAUTHENTICATED]},
                status_code=401,
            )
        layout = LAYOUTS.get(request.path_params["kind"])
        if layout is None:
            return _problem(HubError(Code.INVALID_ARGUMENT, detail="kind").problem, 404)
        found = await _file_of(request)
        if found is None:
            return _problem(HubError(Code.INVALID_ARGUMENT, detail="file").problem, 400)
        try:
            submitted = await start(caller, layout, *found)
        except HubError as error:
            return _problem(error.problem, _status_of(error.problem.code))
        return JSONResponse(
            {"jobId": submitted.job_id, "started": submitted.started},
            status_code=202 if submitted.started else 200,
            headers={"Location": f"/imports/{submitted.job_id}"},
        )

    async def api_caller(request: Request) -> Caller | Response:
        caller = await hub.caller_for(request)
        if caller is None:
            return JSONResponse(
                {"code": Code.UNAUTHENTICATED.value, "message": MESSAGES[Code.UNAUTHENTICATED]},
                status_code=401,
            )
        return caller

    async def progress(request: Request) -> Response:
        caller = await api_caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            async with hub.db.sessions() as session:
                found = await imports.progress(session, caller, request.path_params["job_id"])
        except HubError as error:
            return _problem(error.problem, 404)
        return JSONResponse(found.as_json())

    async def result(request: Request) -> Response:
        caller = await api_caller(request)
        if isinstance(caller, Response):
            return caller
        try:
            async with hub.db.sessions() as session:
                name, fmt, body = await imports.result(
                    session, caller, request.path_params["job_id"]
                )
        except HubError as error:
            return _problem(error.problem, 404)
        return _attachment(body, MEDIA[fmt], name)

    async def template(request: Request) -> Response:
        layout = LAYOUTS.get(request.path_params["kind"])
        fmt = request.path_params["fmt"]
        if layout is None or fmt not in MEDIA:
            return _problem(HubError(Code.INVALID_ARGUMENT, detail="template").problem, 404)
        body = xlsx_template(layout) if fmt == Format.XLSX else csv_template(layout)
        return _attachment(body, MEDIA[fmt], f"mau-{layout.kind}.{fmt}")

    # --- for people -----------------------------------------------------------------------

    async def person(request: Request) -> Caller | Response:
        current = await hub.session_of(request)
        if current is None:
            return to_login(PAGE)
        if request.method not in SAFE_METHODS and not csrf_matches(
            current.csrf_token, await csrf_token_of(request)
        ):
            return problem_page(request, Code.CSRF_FAILED, 403, link=(PAGE, "imports.back"))
        known = await hub.callers.person(hub.db, current.personal_id, current.full_name)
        if not known.known:
            return problem_page(request, Code.PERSON_UNKNOWN, 403)
        caller = person_import_caller(session_caller(known))
        if caller is None:
            return problem_page(request, Code.FORBIDDEN, 403, scope="imports")
        return caller

    async def page(request: Request, *, refusal: Problem | None = None) -> Response:
        caller = await person(request)
        if isinstance(caller, Response):
            return caller
        current = await hub.session_of(request)
        asked = request.query_params.get("job", "")[:36]
        shown = None
        async with hub.db.sessions() as session:
            if asked:
                try:
                    shown = await imports.progress(session, caller, asked)
                except HubError:
                    shown = None
            listed = await imports.recent(session, caller)
        language = i18n.language_of(request)
        english = language == "en"
        return render(
            request,
            "imports.html",
            400 if refusal else 200,
            layouts=[
                (layout, layout.title_en if english else layout.title)
                for layout in LAYOUTS.values()
            ],
            chosen=request.query_params.get("kind", "students"),
            shown=shown,
            listed=listed,
            titles={
                layout.kind: layout.title_en if english else layout.title
                for layout in LAYOUTS.values()
            },
            states={state: i18n.translate(language, f"imports.state.{state}") for state in STATES},
            refusal=None if refusal is None else problem_message(request, refusal),
            refusal_code=None if refusal is None else refusal.code.value,
            csrf_token=current.csrf_token if current else "",
            officer=caller.person is not None and caller.person.department_officer,
            max_rows=settings.import_max_rows,
            max_megabytes=settings.import_max_bytes // (1024 * 1024),
        )

    async def page_upload(request: Request) -> Response:
        caller = await person(request)
        if isinstance(caller, Response):
            return caller
        form = await request.form()
        layout = LAYOUTS.get(str(form.get("kind", "")))
        found = await _file_of(request)
        if layout is None or found is None:
            missing = HubError(Code.INVALID_ARGUMENT, detail="tệp hoặc loại dữ liệu").problem
            return await page(request, refusal=missing)
        try:
            submitted = await start(caller, layout, *found)
        except HubError as error:
            return await page(request, refusal=error.problem)
        return RedirectResponse(f"{PAGE}?job={submitted.job_id}", status_code=303)

    async def page_result(request: Request) -> Response:
        caller = await person(request)
        if isinstance(caller, Response):
            return caller
        try:
            async with hub.db.sessions() as session:
                name, fmt, body = await imports.result(
                    session, caller, request.path_params["job_id"]
                )
        except HubError as error:
            return problem_page(
                request, error.problem.code, 404, link=(PAGE, "imports.back"), detail="kết quả"
            )
        return _attachment(body, MEDIA[fmt], name)

    async def show(request: Request) -> Response:
        return await page(request)

    return [
        Route("/imports/templates/{kind}.{fmt}", template, methods=["GET"]),
        Route("/imports/{kind}", upload, methods=["POST"]),
        Route("/imports/{job_id}", progress, methods=["GET"]),
        Route("/imports/{job_id}/result", result, methods=["GET"]),
        Route(PAGE, show, methods=["GET"]),
        Route(PAGE, page_upload, methods=["POST"]),
        Route(PAGE + "/{job_id}/result", page_result, methods=["GET"]),
    ]
