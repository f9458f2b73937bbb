"""The signing engine: XAdES and PAdES from raw provider signatures, and verification."""
