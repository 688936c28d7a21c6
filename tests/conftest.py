"""Shared fixtures.

The tests run the numba kernels themselves: MICROGRADX_JIT=foreground compiles them at
their first call (the default, background, would run NumPy until a background process
had compiled them; see microgradx/kernels/jit.py). Tests of the NumPy tier choose it explicitly.
"""

import os

os.environ.setdefault("MICROGRADX_JIT", "foreground")

import pytest  # noqa: E402


@pytest.fixture
def lecture_graph():
    """The lecture's f = (u + v) · w at u = 2, v = 3, w = 4."""
    from microgradx import Value

    u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
    return u, v, w, (u + v) * w


@pytest.fixture
def numpy_tier(monkeypatch):
    """Run compiled graphs on numpy_calls (the first tier) in this test, whatever is cached."""
    from microgradx.kernels import jit, numpy_calls

    monkeypatch.setattr(jit, "kernels_now", lambda: numpy_calls)
    return numpy_calls
