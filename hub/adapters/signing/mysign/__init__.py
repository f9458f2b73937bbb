"""Viettel-CA MySign: its protocol, the hub's client and a simulator of Viettel's side."""

from hub.adapters.signing.mysign.adapter import MySignAdapter, mysign_user_id
from hub.adapters.signing.mysign.simulator import MySignBackOffice, create_simulator

__all__ = ["MySignAdapter", "MySignBackOffice", "create_simulator", "mysign_user_id"]
