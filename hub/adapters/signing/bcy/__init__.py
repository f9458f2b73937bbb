"""Ban Cơ yếu Chính phủ remote signing (RSSP profile): the hub's client and a simulated service."""

from hub.adapters.signing.bcy.adapter import BcyAdapter
from hub.adapters.signing.bcy.simulator import create_simulator

__all__ = ["BcyAdapter", "create_simulator"]
