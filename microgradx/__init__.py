"""microgradx: a scalar autograd engine whose graphs run as numba-compiled tapes."""

from .compiled import Compiled, compile
from .engine import Value
from .modes import grad, hessian, hvp, jvp
from .ops import Op
from .tape import Tape, flatten

__all__ = ["Value", "Op", "Tape", "flatten", "compile", "Compiled", "jvp", "grad", "hessian", "hvp"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`microgradx.viz`, `draw` and `draw_tape` load graphviz only when first used: the core never
    imports viz, yet `import microgradx; microgradx.viz.explore(...)` works."""
    if name in ("viz", "draw", "draw_tape"):
        import importlib

        viz = importlib.import_module(".viz", __name__)
        return viz if name == "viz" else getattr(viz, name)
    raise AttributeError(f"module 'microgradx' has no attribute {name!r}")
