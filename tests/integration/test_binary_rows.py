"""Rows asked for in binary format (:func:`hub.db.engine.binary_rows`) read as the text rows do.

The signing steps read transcripts' documents with it; on PostgreSQL the rows must
then really come in binary (the option reaches psycopg through SQLAlchemy's cursor
adapter, whose insides could change), on SQLite the option changes nothing.
"""

import hashlib
import os
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models
from hub.db.engine import Database, binary_rows
from tests.world import World


async def _both(session: AsyncSession, statement: Any) -> tuple[list[Any], list[Any]]:
    plain = list((await session.execute(statement)).all())
    binary = list((await session.execute(binary_rows(statement))).all())
    return plain, binary


async def test_binary_rows_read_as_text_rows_do(db: Database, world: World) -> None:
    formats: list[int] = []

    def seen(_conn: Any, cursor: Any, *_: Any) -> None:
        result = getattr(getattr(cursor, "_cursor", None), "pgresult", None)
        if result is not None and result.nfields:
            formats.append(result.fformat(0))

    event.listen(db.engine.sync_engine, "after_cursor_execute", seen)
    try:
        async with db.sessions() as session, session.begin():
            school_class = await session.scalar(select(models.SchoolClass).limit(1))
            student = await session.scalar(select(models.Student).limit(1))
            assert school_class is not None and student is not None
            xml, pdf = b"<hoc-ba>\x00\xff</hoc-ba>", os.urandom(200_000)
            transcript = models.Transcript(
                document_id=hashlib.sha256(pdf).hexdigest()[:36],
                student_id=student.id,
                school_year_id=world.current_year_id,
                school_id=school_class.school_id,
                class_id=school_class.id,
                state="READY",
                learning_result="Tốt",
                xml=xml,
                pdf=pdf,
                xml_sha256=hashlib.sha256(xml).hexdigest(),
            )
            session.add(transcript)
            await session.flush()
            formats.clear()
            table = models.Transcript.__table__
            plain, binary = await _both(session, select(table).where(table.c.id == transcript.id))
            assert binary == plain and binary[0].pdf == pdf and binary[0].xml == xml
            for kind in (models.School, models.SigningCertificate, models.SigningRequest):
                plain, binary = await _both(session, select(kind.__table__).limit(50))
                assert binary == plain
            await session.rollback()
    finally:
        event.remove(db.engine.sync_engine, "after_cursor_execute", seen)
    if db.dialect == "postgresql":
        assert formats[:2] == [0, 1]  # text, then binary: the option reached psycopg
    else:
        assert formats == []  # no psycopg cursor: the option is ignored
