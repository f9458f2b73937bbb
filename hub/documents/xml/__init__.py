"""The transcript as an XML document: the published XSD, the writer, the validator, the reader.

See README.md beside this file for the namespace and the versioning policy.
"""

from hub.documents.xml.transcript import (
    CONTENT_ID,
    MAX_SIGNATURES,
    NAMESPACE,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    SIGNATURE_NAMESPACE,
    TranscriptXmlError,
    build_xml,
    parse_xml,
    validate_xml,
)

__all__ = [
    "CONTENT_ID",
    "MAX_SIGNATURES",
    "NAMESPACE",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "SIGNATURE_NAMESPACE",
    "TranscriptXmlError",
    "build_xml",
    "parse_xml",
    "validate_xml",
]
