"""microgradx: a scalar autograd engine whose graphs run as numba-compiled tapes."""

from .compiled import Compiled, compile
from .engine import Value
from .ops import Op
from .tape import Tape, flatten

__all__ = ["Value", "Op", "Tape", "flatten", "compile", "Compiled"]
__version__ = "0.1.0"
