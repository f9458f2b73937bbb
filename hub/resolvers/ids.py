"""Database keys out of what clients send: global IDs and page cursors.

A key is ASCII digits that fit the key column (``"²".isdigit()`` is true in Python,
and SQLite refuses an integer beyond 64 bits with the driver's message); anything
else is INVALID_ID before any SQL runs.
"""

from functools import cache

from sqlalchemy import BigInteger, SmallInteger
from sqlalchemy.sql.type_api import TypeEngine

from hub.db import models
from hub.domain.problems import Code, HubError

INT32_MAX = 2**31 - 1
_SHOWN = 40  # characters of a refused value quoted back in the message


def column_max(column_type: TypeEngine) -> int:
    """The largest value a signed integer column of this type holds (PostgreSQL's ranges)."""
    if isinstance(column_type, BigInteger):
        return 2**63 - 1
    if isinstance(column_type, SmallInteger):
        return 2**15 - 1
    return INT32_MAX


@cache
def key_max(model: type) -> int:
    """The largest id of ``model``'s rows."""
    return column_max(model.__table__.c.id.type)  # type: ignore[attr-defined]


@cache
def _models_by_name() -> dict[str, type]:
    return {mapper.class_.__name__: mapper.class_ for mapper in models.Base.registry.mappers}


def key_max_of(type_name: str) -> int:
    """The largest id behind a node type named like its model (``School`` → ``schools.id``)."""
    model = _models_by_name().get(type_name)
    return INT32_MAX if model is None or "id" not in model.__table__.c else key_max(model)  # type: ignore[attr-defined]


def quoted(value: str) -> str:
    """A client's value as the message quotes it: short, in quotation marks."""
    return f"“{value[:_SHOWN]}{'…' if len(value) > _SHOWN else ''}”"


def database_key(text: str, limit: int, *, shown: str) -> int:
    """``text`` as a key in 0..``limit``, or INVALID_ID naming ``shown``."""
    if 0 < len(text) <= 19 and text.isascii() and text.isdigit():
        key = int(text)
        if key <= limit:
            return key
    raise HubError(Code.INVALID_ID, field=quoted(shown))
