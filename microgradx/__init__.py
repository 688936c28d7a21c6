"""microgradx: a scalar autograd engine whose graphs run as numba-compiled tapes.

The package is six layers, each a folder importing only from the ones before it: core/
(the lesson, no numba), kernels/ (the same sweeps in numba), compiler/ (compile()),
training/ (fused steps, epochs), viz/ (pictures) and app/ (the command line). These
modules at the top are what you import. Reading the code, in order (README, "Reading the
code", says more):

    core/ops.py             every op once: forward rule and local derivatives side by side
    core/engine.py          Value: micrograd's API, each operator building its node
    core/order.py           the topological order, without recursion
    core/tape.py            flatten: the graph as arrays of op codes and operand slots
    core/reference.py       the sweeps in plain Python: the lecture's loop
    backprop.py             Value.backward(): flatten once, sweep, write the gradients back
    core/graph_sweeps.py    gradients and tangents that are graphs (modes.py: jvp, grad, hessian)
    kernels/scalar.py       the reference sweeps in numba, one branch per op
    kernels/updates.py      SGD and Adam over flat parameter arrays (optim.py)
    compiler/passes.py      fewer, bigger slots: folding, CSE, SUM and DOT
    compiler/program.py     the tape split into a uniform and a varying program
    kernels/lanes.py        the varying program on many rows at once, as SIMD lanes
    kernels/dots.py         a neuron's DOT on the lanes; kernels/tiles.py: a layer's, as tiles
    kernels/chunks.py       a batch cut into cache-sized chunks (threads)
    kernels/layout.py       the program and the workspace packed, and cut back
    kernels/calls.py        the entry points: forward, backward, fused training steps
    compiler/graph.py       a compiled graph: bind, forward, backward (compiled.py: Compiled)
    training/steps.py       the fused training step; training/epochs.py: epochs, History
"""

from .compiled import Compiled, compile
from .core.engine import Value
from .core.ops import Op
from .core.tape import Tape, flatten
from .modes import grad, hessian, hvp, jvp

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
