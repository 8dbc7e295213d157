"""The statistics tests count in the leerplicht tests' world of gemeenten and regions."""

from tests.signals.conftest import world

__all__ = ["world"]
