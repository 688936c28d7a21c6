"""microgradx: a scalar autograd engine whose graphs run as numba-compiled tapes."""

from .compiled import Compiled, compile
from .engine import Value
from .ops import Op
from .tape import Tape, flatten

__all__ = ["Value", "Op", "Tape", "flatten", "compile", "Compiled"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """draw and draw_tape load graphviz only when first used: the core never imports viz."""
    if name in ("draw", "draw_tape"):
        from . import viz

        return getattr(viz, name)
    raise AttributeError(f"module 'microgradx' has no attribute {name!r}")
