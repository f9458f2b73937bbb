"""Prepared signatures as a batch stores them between its send and its finish
(hub.signing.prepared): what is read back is what was prepared, in the MessagePack
form and in the JSON form requests were stored in before it."""

import base64
import dataclasses
import enum
from typing import Any

import orjson

from hub.adapters.signing.pki import DemoPKI
from hub.documents import samples
from hub.domain.signers import SignerRole
from hub.signing.algorithms import SignatureAlgorithm
from hub.signing.pades import PreparedPdf, prepare_pdf
from hub.signing.prepared import pack, unpack
from hub.signing.xades import PreparedXml, prepare_xml
from hub.transcripts.service import render
from tests.signing_support import school_signers


async def _prepared() -> tuple[PreparedXml, PreparedPdf]:
    xml, pdf = await render(samples.primary(1))
    teacher = school_signers(DemoPKI.create("http://127.0.0.1:9"))[0]
    prepared_xml = prepare_xml(
        xml, role=SignerRole.HOMEROOM_TEACHER, certificate=teacher.certificate, chain=teacher.chain
    )
    prepared_pdf = await prepare_pdf(
        pdf, role=SignerRole.HOMEROOM_TEACHER, certificate=teacher.certificate, chain=teacher.chain
    )
    return prepared_xml.detached(xml), prepared_pdf.detached(pdf)


def _as_json(prepared: Any) -> bytes:
    """The form requests were stored in before MessagePack (bytes in base64)."""

    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            return {"b64": base64.b64encode(value).decode()}
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, enum.Enum):
            return value.value
        return value

    return orjson.dumps(
        {f.name: plain(getattr(prepared, f.name)) for f in dataclasses.fields(prepared)}
    )


async def test_prepared_documents_read_back_as_they_were_prepared() -> None:
    prepared_xml, prepared_pdf = await _prepared()
    assert unpack(PreparedXml, pack(prepared_xml)) == prepared_xml
    back = unpack(PreparedPdf, pack(prepared_pdf))
    assert back == prepared_pdf
    assert isinstance(back.chain, tuple) and back.chain  # the certificates as they were
    assert back.algorithm is SignatureAlgorithm.RSA_PKCS1_SHA256
    # Bytes are stored as bytes: no base64 a third larger.
    assert len(pack(prepared_pdf)) < len(_as_json(prepared_pdf))


async def test_requests_stored_before_messagepack_are_still_finished() -> None:
    prepared_xml, prepared_pdf = await _prepared()
    assert unpack(PreparedXml, _as_json(prepared_xml)) == prepared_xml
    assert unpack(PreparedPdf, _as_json(prepared_pdf)) == prepared_pdf
