"""The pages' words in each language: one catalogue file per language, Vietnamese first.

Every string a page shows lives in ``hub/web/locales/<language>.toml`` under a dotted
key (``[verify]`` then ``valid = "Hợp lệ"`` is ``verify.valid``); templates call
``t('verify.valid')`` and never hold words themselves, so a translator edits one file.
Both catalogues have exactly the same keys (a test checks it, and that every key a
template uses exists): a missing word is a bug found before release, not an English
gap on a Vietnamese page.

A page is Vietnamese unless the reader asked for English: ``?lang=en`` on any page
(which the language switch in ``base.html`` links to) sets the ``hub_lang`` cookie,
and the cookie keeps the choice on the following pages.
"""

import functools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

LOCALES = Path(__file__).parent / "locales"
#: The languages with a catalogue, the default first.
LANGUAGES = ("vi", "en")
DEFAULT = LANGUAGES[0]
COOKIE = "hub_lang"
#: A year: the choice of language is not personal data and outlives a session.
COOKIE_SECONDS = 365 * 24 * 3600


@functools.cache
def catalogue(language: str) -> Mapping[str, str]:
    """Every key of ``language``'s catalogue with its text (nested tables as dotted keys)."""
    with (LOCALES / f"{language}.toml").open("rb") as file:
        return _flattened(tomllib.load(file))


def _flattened(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    keys: dict[str, str] = {}
    for name, value in table.items():
        if isinstance(value, Mapping):
            keys.update(_flattened(value, f"{prefix}{name}."))
        elif isinstance(value, str):
            keys[f"{prefix}{name}"] = value
        else:
            raise TypeError(f"{prefix}{name} in a catalogue must be text, not {value!r}")
    return keys


def translate(language: str, key: str, **values: Any) -> str:
    """The text of ``key`` in ``language``, with ``{name}`` filled from ``values``.

    An unknown key raises KeyError: the catalogue test finds every key templates use.
    """
    text = catalogue(language)[key]
    return text.format(**values) if values else text


def asked_language(request: Request) -> str | None:
    """The language the address asks for (``?lang=en``), if it is one we have."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGUAGES else None


def language_of(request: Request) -> str:
    """The page's language: the address's ``lang``, else the cookie's, else Vietnamese."""
    chosen = asked_language(request) or request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT


def remember(request: Request, response: Response) -> None:
    """Keep the language the address asked for in the ``hub_lang`` cookie."""
    asked = asked_language(request)
    if asked is not None and request.cookies.get(COOKIE) != asked:
        response.set_cookie(
            COOKIE,
            asked,
            max_age=COOKIE_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )


def switch_url(request: Request, language: str) -> str:
    """This page's path and query with ``lang`` set to ``language`` (the language switch)."""
    query = request.query_params.items()
    rest = [(name, value) for name, value in query if name != "lang"]
    return f"{request.url.path}?{urlencode([*rest, ('lang', language)])}"
