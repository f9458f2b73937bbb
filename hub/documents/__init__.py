"""The transcript as documents: its content model, the XML (with its XSD) and the PDF."""
