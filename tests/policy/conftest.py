"""Policy fixtures: the real bundle, the in-process engine, and an OPA-API server loaded with it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from opa_client import OpaClient

from gateway.policy.bundle import PolicyBundle, default_policy_dir
from gateway.policy.engines import OpaEngine, RegorusEngine
from tests.policy.opa_test_server import OpaState, running_opa_server


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    return PolicyBundle.load(default_policy_dir())


@pytest.fixture(scope="session")
def regorus_engine(bundle: PolicyBundle) -> RegorusEngine:
    return RegorusEngine(bundle)


def load_bundle_into_opa(url: str, bundle: PolicyBundle) -> None:
    """Push the bundle the way an operator would push it to a running OPA server."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with OpaClient(host=parts.hostname, port=parts.port) as client:
        for path, source in bundle.modules.items():
            assert client.update_policy_from_string(source, path, rego_compat=False)
        for key, value in bundle.data.items():
            assert client.update_or_create_data(value, key)


@pytest.fixture
def opa_server(bundle: PolicyBundle) -> Iterator[tuple[str, OpaState]]:
    with running_opa_server() as (url, state):
        load_bundle_into_opa(url, bundle)
        yield url, state


@pytest.fixture
def opa_engine(opa_server: tuple[str, OpaState]) -> Iterator[OpaEngine]:
    engine = OpaEngine(opa_server[0], timeout=2.0)
    yield engine
    engine.close()
