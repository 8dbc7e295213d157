"""The audit API tests act in the exchange tests' world."""

from tests.exchanges.conftest import world

__all__ = ["world"]
