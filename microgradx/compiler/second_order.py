"""Forward mode and second derivatives of a compiled graph, on a batch of rows.

`Compiled.jvp`, `.hvp` and `.hessian` (these functions, as methods). Each compiles, at its
first call, a graph built from the compiled one's Values (its tangents, its gradient graph,
or that graph's tangents: core/graph_sweeps.py), with any directions as extra input
columns, and runs it on the same kernels: nothing new for numba to compile.

Which way each goes was measured on the moons MLP's loss (MLP(2, [16, 16, 1]), 100 rows,
337 parameters; benchmarks/second_order.py, medians, two runs on a shared 2-core machine):
one H·v takes 0.15 ms every way (forward over reverse; reverse over reverse as a graph, or
by the kernels' reverse sweep), and forward over reverse is kept: it writes no gradient.
The whole Hessian took 18-36 ms as 337 reverse sweeps of the compiled gradient graph after
one forward (kept), 53 ms as 337 H·v calls forward over reverse, 53-81 ms by the kernels'
reverse over reverse, and 129-241 ms with the 337 directions as rows.

Equals: modes.jvp, modes.hvp and modes.hessian on the same graph of Values, row by row (the
reference sweep's tangents over the gradient graph): tests/test_modes.py
(test_compiled_jvp_equals_the_scalar_jvp_row_by_row,
test_compiled_hessian_and_hvp_equal_the_scalar_ones_on_the_mean_loss).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..core import forks
from ..core.engine import Value
from ..core.graph_sweeps import adjoint_graph, substituted, tangent_graph
from ..core.ops import Op
from ..core.order import topological
from . import checks
from .graph import Graph


class Derived:
    """A graph compiled from another's Values (derived_graph): `graph`; the columns of x it reads
    (`in_cols`); the directions it reads (`dir_cols`, the others no tangent reaches); and for
    each of its parameters that copies one of the original's, that one's index in the
    original's `parameters` (`copied`)."""

    def __init__(self, graph: Graph, in_cols: np.ndarray, dir_cols: np.ndarray, copied: np.ndarray) -> None:
        self.graph, self.in_cols, self.dir_cols, self.copied = graph, in_cols, dir_cols, copied
        self.lock = threading.Lock()
        forks.released(self)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()
        forks.released(self)


def topological_leaves(roots: list[Value]) -> list[Value]:
    """The leaves of the graph below roots."""
    return [v for v in topological(roots) if v.op == Op.LEAF]


def derived_graph(self: Graph, kind: str) -> Derived:
    """The compiled graph `kind` derives from this one (see Derived), made at the first call.

    "jvp": the outputs and their tangents along new leaves, one per input ("jvp+parameters":
    one per input, then one per parameter). "hvp": the
    gradient graph's tangents along new leaves, one per parameter. "hessian": the gradient
    graph itself, on copies of the parameters (its backward writes their gradients, not
    the parameters' own).
    """
    derived = self.derived.get(kind)
    if derived is not None:
        return derived
    if not kind.startswith("jvp") and len(self.outputs) != 1:
        raise ValueError(
            f"hvp and hessian differentiate a graph with one output (the loss); this one has "
            f"{len(self.outputs)}: compile the loss alone"
        )
    copies: dict[Value, Value] = {}
    if kind == "jvp":
        wrt, roots = self.inputs, self.outputs
    elif kind == "jvp+parameters":
        wrt, roots = self.inputs + self.parameters, self.outputs
    else:
        adjoints = adjoint_graph(self.outputs[0], self.parameters)
        roots = [adjoints.get(p, 0.0) for p in self.parameters]
        roots = [r if isinstance(r, Value) else Value.const(r) for r in roots]
        wrt = self.parameters
    directions = [Value(0.0, label=f"d{k}") for k in range(len(wrt))] if kind != "hessian" else []
    if kind == "hessian":
        copies = {p: Value(p.data, label=p.label) for p in self.parameters}
        rebuilt = substituted(roots, copies)
        outs = [rebuilt[r] for r in roots]
    else:
        tangents = tangent_graph(roots, dict(zip(wrt, directions)))
        outs = [tangents.get(r, 0.0) for r in roots]
        outs = [t if isinstance(t, Value) else Value.const(t) for t in outs]
    if kind.startswith("jvp"):
        outs = self.outputs + outs
    used = {id(v) for v in topological_leaves(outs)}
    in_cols = [k for k, x in enumerate(self.inputs) if id(x) in used]
    dir_cols = [k for k, d in enumerate(directions) if id(d) in used]
    inputs = [self.inputs[k] for k in in_cols] + [directions[k] for k in dir_cols]
    graph = Graph(outs, inputs, check=self.check, threads=self.threads)
    where = {p: k for k, p in enumerate(self.parameters)}
    originals = {c: p for p, c in copies.items()}
    copied = np.array([where[originals.get(c, c)] for c in graph.parameters], dtype=np.int64)
    derived = Derived(graph, np.array(in_cols, np.int64), np.array(dir_cols, np.int64), copied)
    self.derived[kind] = derived
    return derived


def jvp(
    self: Graph,
    x: object,
    dx: object = None,
    dparams: object = None,
    wrt: Sequence[Value] | None = None,
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Forward mode on a batch: the outputs and their derivatives along a direction, row by row.

    x and dx have shape (rows, n_inputs), or (n_inputs,) for one row; dx[r] is the
    direction of row r's inputs (None: 0, the inputs held fixed). dparams, one number per
    parameter of wrt (default `self.parameters`; `model.parameters()` for the model's
    order), moves the parameters too, the same way for every row (None: held fixed).
    Returns (outputs, tangents), each shaped as `forward(x)` returns: (rows,) for one
    output, (rows, n_outputs) for several; a float or (n_outputs,) for one row. The first
    call compiles the graph of the outputs and their tangents (core/graph_sweeps.py's tangent_graph).
    """
    rows, single = self.rows(x, "jvp")
    if dx is None:
        drows = np.zeros_like(rows)
    else:
        drows, _ = self.rows(dx, "jvp", "dx")
        if drows.shape != rows.shape:
            raise ValueError(f"jvp(x, dx): dx has shape {np.shape(dx)}; it must have x's, {np.shape(x)}")
    if dparams is None:
        if wrt is not None:
            raise TypeError("jvp(wrt=...) orders dparams: give dparams too, one number per parameter")
        d = derived_graph(self, "jvp")
        directions = drows
    else:
        full, _ = checks.parameter_direction(self.parameters, dparams, wrt, "jvp", "dparams")
        d = derived_graph(self, "jvp+parameters")
        directions = np.hstack([drows, np.tile(full, (rows.shape[0], 1))])
    out = d.graph.forward(np.hstack([rows[:, d.in_cols], directions[:, d.dir_cols]]))
    n_out = len(self.outputs)
    values, tangents = out[:, :n_out], out[:, n_out:]
    if self.single_output:
        values, tangents = values[:, 0], tangents[:, 0]
    if single:
        return (float(values[0]), float(tangents[0])) if self.single_output else (values[0], tangents[0])
    return values, tangents


def _loss_rows(self: Graph, x: object, reduction: str, caller: str) -> np.ndarray:
    """x's rows, for a loss that is the mean or the sum of the output over them."""
    checks.reduction(reduction, caller)
    rows, _ = self.rows(x, caller)
    if rows.shape[0] == 0:
        raise ValueError(f"{caller}(x): x has no rows; the loss is the {reduction} over x's rows")
    return rows


def hvp(
    self: Graph, x: object, v: object, reduction: str = "mean", wrt: Sequence[Value] | None = None
) -> np.ndarray:
    """The Hessian-vector product H·v of the loss w.r.t. the parameters, shape (len(wrt),).

    The loss is the mean (or the sum) of the output over x's rows, as `backward(reduction)`
    differentiates. wrt: the parameters, in the order v and the result take them, for
    example `model.parameters()`; None takes `self.parameters` (the order the tape meets
    them, which need not be the model's). For a part of the parameters, v is 0 on the
    rest. Forward over reverse (Pearlmutter 1994): the tangent graph of the gradient graph
    along v, one forward of x's rows, no gradient written (measured: see the top).
    """
    rows = _loss_rows(self, x, reduction, "hvp")
    full, k = checks.parameter_direction(self.parameters, v, wrt, "hvp", "v")
    if k.size == 0:
        return np.zeros(0)
    d = derived_graph(self, "hvp")
    columns = np.tile(full[d.dir_cols], (rows.shape[0], 1))
    out = d.graph.forward(np.hstack([rows[:, d.in_cols], columns]))
    return (out.mean(axis=0) if reduction == "mean" else out.sum(axis=0))[k]


def hessian(
    self: Graph, x: object, reduction: str = "mean", wrt: Sequence[Value] | None = None
) -> np.ndarray:
    """The Hessian of the loss w.r.t. the parameters, shape (len(wrt), len(wrt)).

    The loss and wrt as in `hvp` (pass `model.parameters()` to have rows and columns in
    the model's order). Reverse over reverse, the fastest way measured (see
    the top): the gradient graph, compiled once on copies of the parameters, runs
    one forward of x's rows, then one reverse sweep per gradient entry k, whose parameter
    gradients, summed over the rows in the kernel, are row k of H. Symmetric up to
    rounding, not symmetrised. The parameters' own `.grad` are not touched.
    """
    rows = _loss_rows(self, x, reduction, "hessian")
    k = checks.positions(self.parameters, wrt, "hessian")
    n = len(self.parameters)
    if n == 0 or k.size == 0:
        return np.zeros((k.size, k.size))
    d = derived_graph(self, "hessian")
    graph = d.graph
    if self.store.version != self.version:
        self.bind()
    H = np.zeros((n, n))
    with d.lock:  # the copies' values and gradients are shared by the threads' calls
        graph.store.data[graph.p_idx] = self.store.data[self.p_idx[d.copied]]
        graph.forward(rows[:, d.in_cols])
        grads = graph.store.grad
        for row in range(n):
            grads[:] = 0.0
            graph.backward(reduction, output=row)
            H[row, d.copied] = grads[graph.p_idx]
        grads[:] = 0.0
    return H if wrt is None else H[np.ix_(k, k)]
