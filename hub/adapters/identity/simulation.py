"""What the identity simulators share once started on loopback: the server and the settings.

Each provider folder's ``simulator`` module starts its far side with ``simulate(…)``
and hands back an :class:`IdentitySimulation` that names the ``HUB_*`` environment
pointing the hub at it (:attr:`~IdentitySimulation.env`); the demo, the tests and the
bench read it as environment or as :class:`~hub.config.Settings` fields. Production
never imports it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from hub.adapters.signing.simulator import SimulatorServer


@dataclass(kw_only=True)
class IdentitySimulation(ABC):
    """A simulated identity provider served on loopback, and how the hub reaches it."""

    #: The HTTP service, which a test may stop (the provider is down) and start again.
    server: SimulatorServer

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    @abstractmethod
    def env(self) -> dict[str, str]:
        """The ``HUB_*`` environment that points the hub at it."""

    @property
    def settings(self) -> dict[str, str]:
        """:attr:`env` as keyword arguments of :class:`~hub.config.Settings`."""
        return {name.removeprefix("HUB_").lower(): value for name, value in self.env.items()}

    def start(self) -> None:
        """Serve again on the same port (after :meth:`stop`)."""
        self.server.start()

    def stop(self) -> None:
        """Stop serving: the provider is down."""
        self.server.stop()
