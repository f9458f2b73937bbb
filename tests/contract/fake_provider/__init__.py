"""A provider only the tests know: proof that a provider plugs in through its folder and
one registry line (``TEST_PROVIDERS`` in ``tests/contract/conftest.py``), and goes
through every contract check like the real ones.

Its protocol is the smallest that has everything the contract asks of a remote
provider: a client secret on every call, a signer's credentials, hashes signed after
the phone confirms, a status to poll, refusals by word.
"""

from hub.adapters.signing.base import ProviderEntry
from tests.contract.fake_provider.adapter import (
    FakeAdapter,
    FakeProvider,
    fake_user_id,
    from_config,
)

PROVIDER = ProviderEntry(
    provider=FakeProvider.FAKE,  # type: ignore[arg-type]  # not one the hub ships with
    table="fake",
    build=from_config,
    simulator="tests.contract.fake_provider.simulator",
    user_id=fake_user_id,
)

__all__ = ["PROVIDER", "FakeAdapter"]
