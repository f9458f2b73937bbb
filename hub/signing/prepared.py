"""How a prepared signature is stored between sending its digest and finishing it.

A bulk batch's send step prepares each transcript's XML and PDF signature
(:class:`~hub.signing.xades.PreparedXml`, :class:`~hub.signing.pades.PreparedPdf`) and
stores them with the request's items; the step that finds the signer's answer,
another message and often another process, reads them back and finishes them.

They are stored as MessagePack maps of their fields, bytes as bytes: each of a chunk's
transcripts is packed once and unpacked once. Requests stored before by JSON with
base64 bytes (:func:`_unpack_json`) are still read, so a signer who confirms across an
upgrade is not asked again.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import typing
from typing import Any, TypeVar

import msgpack
import orjson

T = TypeVar("T")


def pack(prepared: Any) -> bytes:
    """A prepared signature, a dataclass of bytes, str, int, None, enum and tuple-of-bytes
    fields, as MessagePack."""
    return msgpack.packb(
        {
            field.name: _plain(getattr(prepared, field.name))
            for field in dataclasses.fields(prepared)
        }
    )


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return value


def unpack(kind: type[T], data: bytes) -> T:
    """The dataclass :func:`pack` stored (or the JSON form stored before it)."""
    if data[:1] == b"{":
        return _unpack_json(kind, data)
    hints = _type_hints(typing.cast(Any, kind))
    fields = msgpack.unpackb(data, use_list=False)
    return kind(**{name: _restore(value, hints.get(name)) for name, value in fields.items()})


def _restore(value: Any, hint: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    return value


def _unpack_json(kind: type[T], data: bytes) -> T:
    """The JSON form (before MessagePack): bytes as ``{"b64": …}``, lists for tuples. A
    request waits minutes for its signer, so only what the prepared dataclasses were
    when MessagePack came (bytes, str, int, None, enum) can still be stored so."""

    def restore(value: Any, hint: Any) -> Any:
        if isinstance(value, dict) and "b64" in value:
            return base64.b64decode(value["b64"])
        if isinstance(value, list):
            args = typing.get_args(hint)
            return tuple(restore(v, args[0] if args else None) for v in value)
        return _restore(value, hint)

    hints = _type_hints(typing.cast(Any, kind))
    fields = orjson.loads(data)
    return kind(**{name: restore(value, hints.get(name)) for name, value in fields.items()})


@functools.cache
def _type_hints(kind: type) -> dict[str, Any]:
    """A prepared dataclass's field types, resolved once (every item of every chunk is
    unpacked: :func:`typing.get_type_hints` evaluates the annotations each time)."""
    return typing.get_type_hints(kind)
