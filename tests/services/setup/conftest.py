"""The 3CX client fixtures, shared with the setup services' tests."""

from tests.threecx.conftest import connect

__all__ = ["connect"]
