"""VNPT SmartCA: SP769 and the CSC-style gateway, their protocol, clients and simulator."""

from hub.adapters.signing.smartca.adapter import (
    AutomationAccount,
    SmartCaAdapter,
    SmartCaGatewayAdapter,
)
from hub.adapters.signing.smartca.simulator import SmartCaBackOffice, create_simulator

__all__ = [
    "AutomationAccount",
    "SmartCaAdapter",
    "SmartCaBackOffice",
    "SmartCaGatewayAdapter",
    "create_simulator",
]
