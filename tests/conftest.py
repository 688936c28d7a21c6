"""Shared fixtures."""

import pytest


@pytest.fixture
def lecture_graph():
    """The lecture's f = (u + v) · w at u = 2, v = 3, w = 4."""
    from microgradx import Value

    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    return u, v, w, (u + v) * w
