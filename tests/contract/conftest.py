"""The contract tests' providers: every registered one, and the test suite's own.

A test that asks for ``simulation`` runs once per provider and variant
(:attr:`~hub.adapters.signing.base.ProviderEntry.variants`), against that provider's
simulator started for the module. :data:`TEST_PROVIDERS` is the test suite's
registry line: a provider there is registered while its simulation runs.
"""

from collections.abc import Iterator
from contextlib import nullcontext

import pytest

from hub.adapters.signing.base import ProviderEntry, Signs
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.providers import register, registered
from hub.adapters.signing.simulator import Simulation, simulate
from tests.contract import fake_provider

#: Providers only the tests know.
TEST_PROVIDERS: tuple[ProviderEntry, ...] = (fake_provider.PROVIDER,)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "simulation" not in metafunc.fixturenames:
        return
    # A check of a remote service's faults runs for remote providers only, a check of a
    # person's account for providers of people's keys only.
    remote_only = metafunc.definition.get_closest_marker("remote") is not None
    people_only = metafunc.definition.get_closest_marker("people") is not None
    cases = [
        (entry, variant)
        for entry in (*registered(), *TEST_PROVIDERS)
        for variant in entry.variants
        if (entry.remote or not remote_only) and (entry.signs is Signs.PEOPLE or not people_only)
    ]
    metafunc.parametrize(
        "simulation",
        cases,
        ids=[f"{entry.table}-{variant}" if variant else entry.table for entry, variant in cases],
        indirect=True,
        scope="module",
    )


@pytest.fixture(scope="module")
def simulation(
    request: pytest.FixtureRequest, pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulation]:
    entry, variant = request.param
    with register(entry) if entry in TEST_PROVIDERS else nullcontext():
        started = simulate(
            entry, pki, directory=tmp_path_factory.mktemp(entry.table), variant=variant
        )
        try:
            yield started
        finally:
            started.stop()
