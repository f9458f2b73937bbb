"""Cloud Signature Consortium API (v1 and v2): the hub's client and a simulated server."""

from hub.adapters.signing.csc.adapter import CscAccount, CscAdapter, PinSource
from hub.adapters.signing.csc.simulator import create_simulator

__all__ = ["CscAccount", "CscAdapter", "PinSource", "create_simulator"]
