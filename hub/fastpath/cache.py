"""The compiled path's statements, built and compiled once per operation and caller shape.

Building the statement of a plan (dozens of CTEs) costs more than running it, so it is
built once per (query text, operation, check mode, the caller's reach and scopes, and
each root list's statement *structure* — SQLAlchemy's cache key — and page size), and
compiled to the driver's SQL text. A later request of the same shape builds only its
root lists' small statements, takes their bound values in SQLAlchemy's cache-key order
(the order SQLAlchemy itself maps a cached compilation's parameters in), and runs the
cached text with them: one statement of constant text, which psycopg prepares after
a few executions.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect

from hub.memo import Remembered

_MAX = 1024


@dataclass(frozen=True)
class CompiledStatement:
    sql: str
    #: every parameter's value at compile time, processed for the driver
    fixed: dict[str, Any]
    #: per root list, per bound parameter in cache-key order: its name in ``sql``
    #: (None: an expanding parameter, whose values are part of the cache key, or one
    #: the SQL does not hold)
    slots: tuple[tuple[str | None, ...], ...]
    processors: dict[str, Callable[[Any], Any]]

    def parameters(self, roots: Sequence[Any], values: dict[str, Any]) -> dict[str, Any]:
        """The parameters for this request: its roots' bound values and ``values``."""
        parameters = dict(self.fixed)
        for slots, key in zip(self.slots, roots, strict=True):
            for name, bound in zip(slots, key.bindparams, strict=True):
                if name is not None:
                    parameters[name] = self._processed(name, bound.effective_value)
        for name, value in values.items():
            parameters[name] = self._processed(name, value)
        return parameters

    def _processed(self, name: str, value: Any) -> Any:
        processor = self.processors.get(name)
        return value if processor is None or value is None else processor(value)


_COMPILED: Remembered[CompiledStatement] = Remembered(None, _MAX)


def cache_key(shape: tuple[Any, ...], roots: Sequence[Any]) -> tuple[Any, ...] | None:
    """The key of a request's statement: ``shape`` (operation, caller …) and its roots'
    cache keys (None where a root cannot be cached)."""
    parts: list[Any] = list(shape)
    for key in roots:
        if key is None:
            return None
        parts.append(key.key)
        parts.append(tuple(_expanding(b) for b in key.bindparams if b.expanding))
    return tuple(parts)


def _expanding(bound: Any) -> Any:
    value = bound.effective_value
    return tuple(value) if isinstance(value, list | tuple) else value


def lookup(key: tuple[Any, ...] | None) -> CompiledStatement | None:
    return None if key is None else _COMPILED.get(key)


def compile_statement(
    key: tuple[Any, ...] | None, statement: Any, roots: Sequence[Any], dialect: Dialect
) -> CompiledStatement:
    """Compile ``statement`` (which embeds the roots' statements) and remember it."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    processors = dict(compiled._bind_processors)
    names = {bound.key: name for bound, name in compiled.bind_names.items()}
    fixed = {
        name: value if value is None or name not in processors else processors[name](value)
        for name, value in compiled.construct_params().items()
    }
    # A parameter the SQL does not hold (a root statement embedded only for some
    # selections: the page-info flags) has no slot.
    slots = tuple(
        tuple(None if b.expanding else names.get(b.key) for b in root.bindparams) for root in roots
    )
    found = CompiledStatement(compiled.string, fixed, slots, processors)
    if key is not None:
        _COMPILED.put(key, found)
    return found
