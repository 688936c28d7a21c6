"""`microgradx.compile`: flatten a graph once, replay it on new inputs many times.

The inputs are leaves of the graph that you name; every other leaf is a parameter,
bound to a flat `Store` shared with optimizers. Each forward reads the parameters'
current values, so `p.data -= lr * p.grad` between steps does what it says.

What does not depend on the inputs runs once per call, the rest once per row, all
rows together as lanes (see program.py); parameter gradients are summed over the
rows inside the kernel.

A compiled graph may be called from several threads at once. What a call works in
is the thread's own (`CallState`: the lanes' arrays, the uniform values and
gradients, the last forward's rows, so a backward differentiates its own thread's
forward); what calls share, the parameters' Store, is written under the store's
lock (backward adds gradients into it, train_step and fit update the parameters),
so two graphs sharing parameters take turns there too. Forwards only read the
store: they run side by side (the kernels release the GIL). Calls that split their
rows over numba's threads (threads=True) take turns whatever they write: numba's
workqueue threading layer, the one it falls back to without TBB or OpenMP, aborts the
process when two threads run its parallel kernels at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import TYPE_CHECKING

import numba
import numpy as np

from . import forks, jit, kernels, nantrace, passes
from .engine import Value, topological
from .modes import adjoint_graph, substituted, tangent_graph
from .ops import ARITY, Op
from .optim import Optimizer
from .passes import PASSES
from .program import split
from .real import real, real_array, shown
from .store import Store, bind
from .tape import Tape, flatten

if TYPE_CHECKING:
    from .training import History

REDUCTIONS = ("mean", "sum")
F64 = np.dtype(np.float64)
LINE = 8  # float64s in a 64-byte cache line (and in an AVX-512 register)
PARALLEL_CALLS = forks.module_lock(threading.Lock())  # held by every call that runs the thread-parallel
# kernels (see the top); released in a forked child (forks.py), as every lock of the package


class Locks:
    """Two locks taken as one: the first, then the second; let go in the reverse order."""

    def __init__(self, first: threading.Lock, second: threading.Lock) -> None:
        self.first, self.second = first, second

    def acquire(self) -> None:
        self.first.acquire()
        self.second.acquire()

    def release(self) -> None:
        self.second.release()
        self.first.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def whole_number(x: object, what: str) -> int:
    """x as an int >= 0: Python's and NumPy's integers, not bools; else an error naming it."""
    if type(x) is int and x >= 0:  # the usual case, without the ABC's isinstance (half a microsecond)
        return x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, Integral):
        raise TypeError(f"{what} must be a whole number (an int >= 0), got {x!r} ({type(x).__name__})")
    if x < 0:
        raise ValueError(f"{what} must be a whole number >= 0, got {x!r}")
    return int(x)


def flag(x: object, what: str) -> bool:
    """x as a bool: True or False (NumPy's too), never a truthy string like "no"."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {x!r} ({type(x).__name__})")
    return bool(x)


def optimizer_checked(optimizer: object, caller: str) -> Optimizer:
    """optimizer, if it is one of microgradx.optim's; else an error naming `caller`."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{caller} needs an optimizer from microgradx.optim, like SGD(model.parameters(), lr=0.1); "
            f"got {optimizer!r} ({type(optimizer).__name__})"
        )
    return optimizer


def output_values(outputs: object) -> Value | list[Value]:
    """compile's outputs checked: a Value, or a non-empty list (any iterable) of them."""
    if isinstance(outputs, Value):
        return outputs
    if isinstance(outputs, (str, bytes)) or not hasattr(outputs, "__iter__"):
        raise TypeError(
            f"compile(outputs): outputs must be a Value or a list of Values, got {outputs!r} "
            f"({type(outputs).__name__}): compile the Value you computed, like compile(loss, inputs=[x])"
        )
    outputs = list(outputs)
    if not outputs:
        raise ValueError("compile(outputs): no outputs; give the Value, or the list of Values, to compute")
    return outputs


def input_values(inputs: object) -> list[Value]:
    """compile's inputs checked: Values in the order of x's columns, as a list or tuple (any ordered
    iterable); each one's place on the tape is checked by Compiled."""
    if isinstance(inputs, Value):
        name = inputs.label or "x"
        raise TypeError(
            f"compile(inputs={inputs!r}): inputs must be a list of Values, one for each column of "
            f"forward's x, not a Value: for one input, write inputs=[{name}]"
        )
    if isinstance(inputs, (set, frozenset, dict)):
        raise TypeError(
            f"compile(inputs): inputs must be in the order of x's columns, a list or tuple; got a "
            f"{type(inputs).__name__}, which has no order: write inputs=[x1, x2, ...]"
        )
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(
            f"compile(inputs): inputs must be a list of Values, one for each column of forward's x, "
            f"got {inputs!r} ({type(inputs).__name__})"
        )
    return list(inputs)


def pass_names(optimize: object) -> tuple[str, ...]:
    """compile's optimize checked: the names of the tape passes to run (none for False)."""
    if isinstance(optimize, (bool, np.bool_)):
        return PASSES if optimize else ()
    if isinstance(optimize, str):
        example = f"optimize=[{optimize!r}]" if optimize in PASSES else "optimize=['fold', 'dce']"
        raise TypeError(
            f"compile(optimize={optimize!r}): give pass names as a list, like {example} (a string would "
            f"be read letter by letter), from {PASSES}; or True for all of them, False for none"
        )
    if not hasattr(optimize, "__iter__"):
        raise TypeError(
            f"compile(optimize={optimize!r}): use True (all the passes), False (none) or a list of "
            f"pass names from {PASSES}"
        )
    return tuple(optimize)


def aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """np.zeros(shape), starting on a 64-byte boundary (NumPy promises only 16)."""
    size = int(np.prod(shape))
    buffer = np.zeros(size + LINE)
    start = (-buffer.ctypes.data % (8 * LINE)) // 8
    return buffer[start : start + size].reshape(shape)


class Workspace:
    """The lanes' arrays for one batch: rows cut into chunks that fit in cache, run on
    several threads if its graph was compiled with threads=True and the batch is large.

    vals and grads have shape (chunks, varying slots, L'): chunk c holds rows
    c·L … c·L + counts[c] - 1, lanes contiguous; from 32 rows a chunk on, each slot's
    lanes start on a cache line (L' is L rounded up to a whole line). The lanes past
    counts[c] are padding, which only the kernels' tiles touch (see kernels.py).
    """

    def __init__(
        self, n_varying: int, n_uniform: int, rows: int, block: int, parallel: bool, n_inputs: int
    ) -> None:
        chunks = max(1, -(-rows // block))  # ceil
        L = -(-rows // chunks)  # rows spread evenly: no chunk much shorter than the others
        self.rows = rows
        self.shape = (rows, n_inputs)  # the batch of inputs it takes
        self.parallel = parallel and chunks > 1
        # Each slot's lanes start on a cache line (whole-vector loads), except for small batches,
        # where the padding would cost more memory than it saves time.
        stride = -(-L // LINE) * LINE if L >= 4 * LINE else L
        # One buffer for all (the kernels take it whole: see kernels.workspace_parts), cut
        # into vals, grads, tmp (four rows of scratch) and the chunks' uniform gradients.
        counts = [max(0, min(L, rows - c * L)) for c in range(chunks)]
        self.layout = np.array([chunks, n_varying, stride, n_uniform, *counts], dtype=np.int64)
        self.counts = self.layout[4:]  # rows in each chunk
        self.threads = True if self.parallel else None  # the kernels' argument (see kernels.py)
        size, tmp_size = chunks * n_varying * stride, chunks * 4 * stride
        self.work = aligned_zeros((2 * size + tmp_size + chunks * n_uniform,))
        self.vals = self.work[:size].reshape(chunks, n_varying, stride)
        self.grads = self.work[size : 2 * size].reshape(chunks, n_varying, stride)
        self.tmp = self.work[2 * size : 2 * size + tmp_size].reshape(chunks, 4, stride)

    def chunks(self, arrays: np.ndarray | None = None):
        """(chunk's (slots, lanes) array, its first row) for each chunk of vals (or of `arrays`)."""
        arrays = self.vals if arrays is None else arrays
        for c, n in enumerate(self.counts):
            yield arrays[c, :, :n], c * int(self.counts[0])


NOT_READY = (None, None, (), None, None, None, None)  # train_step's arguments, not made yet


class CallState:
    """What a compiled graph's calls work in, one of each per thread (see PerThread): a
    thread's forward, backward and training steps never touch another thread's.

    Made from `uniform`, the graph's uniform values (its constants filled in) and
    gradients, which it copies.
    """

    def __init__(self, uniform: np.ndarray) -> None:
        self.uniform = uniform.copy()  # values and gradients, one array for the kernels
        self.ws: Workspace | None = None  # the lanes' arrays of this thread's last forward
        self.ran = False  # whether a forward (or a training step) has run in this thread
        self.single = False  # whether that forward was one row
        self.args: tuple = (None, None, ())  # see Compiled._kernel_args
        self.ready: tuple = NOT_READY  # see Compiled.train_step
        self.one_loss = np.zeros(1)  # train_step's loss, without a new array each step


class PerThread(threading.local):
    """A CallState for each thread, made at the thread's first call. (Held in a plain object:
    reading an attribute of a threading.local costs four times a plain one's.)"""

    def __init__(self, uniform: np.ndarray) -> None:
        self.state = CallState(uniform)


class Compiled:
    """A graph flattened to a tape, with its inputs and parameters located on it."""

    # Rows go through the varying program in blocks of at most block_rows lanes, so that a
    # block's values stay in cache; with threads=True, from parallel_rows rows on, blocks run
    # on all of numba's threads (benchmarks/parallel.py: on an idle 2-core machine two threads
    # win from about 256 rows, at most 1.8 times; with two other busy processes they lost at
    # every size, up to 270 times: so one thread is the default).
    block_rows = 256
    parallel_rows = 512

    def __init__(
        self,
        outputs: Value | Sequence[Value],
        inputs: Sequence[Value],
        optimize: bool | Sequence[str] = True,
        check: bool = False,
        threads: bool = False,
    ) -> None:
        outputs = output_values(outputs)
        inputs = input_values(inputs)
        names = pass_names(optimize)
        self.single_output = isinstance(outputs, Value)
        self.outputs: list[Value] = [outputs] if self.single_output else outputs  # before the passes
        self._derived: dict[str, Derived] = {}  # see _derived_graph
        self.check = flag(check, "compile(check)")
        self.threads = flag(threads, "compile(threads)")
        tape = flatten(outputs)
        if names:
            tape = passes.optimize(tape, names)
        self.tape: Tape = tape
        leaf_slot = {id(tape.nodes[s]): int(s) for s in tape.leaves}
        in_slots = []
        for k, x in enumerate(inputs):
            if not isinstance(x, Value):
                raise TypeError(f"inputs[{k}] is {type(x).__name__}, not a Value")
            s = leaf_slot.get(id(x))
            if s is None:
                why = {Op.LEAF: "is not in the graph", Op.CONST: "is a constant"}.get(
                    x.op, "is computed from other Values"
                )
                raise ValueError(f"inputs[{k}] ({x!r}) {why}: inputs must be leaves of the graph")
            if s in in_slots:
                raise ValueError(f"inputs[{k}] ({x!r}) is listed twice")
            in_slots.append(s)
        self.inputs = inputs
        self.in_slots = np.array(in_slots, dtype=np.int64)
        taken = set(in_slots)
        self.p_slots = np.array([s for s in tape.leaves if s not in taken], dtype=np.int64)
        self.parameters: list[Value] = [tape.nodes[s] for s in self.p_slots]
        self._bind()
        self._program()
        self._packed: tuple = (None, None)  # (p_idx, the program packed for it): see _kernel_args
        self._opt_for: tuple = (None, -1, np.zeros((1, 0), dtype=np.uint32))  # see _optimizer_slots

    def _bind(self) -> None:
        """Find (or make) the one Store holding the parameters, and their indices in it."""
        self.store, self.p_idx = (
            bind(self.parameters) if self.parameters else (Store(0), np.zeros(0, np.int64))
        )
        self._version = self.store.version

    def _program(self) -> None:
        """Split the tape into the uniform program (once per call) and the varying one (per lane)."""
        tape = self.tape
        order = np.arange(len(tape)) + len(self.store)  # parameters first, in the store's order
        order[self.p_slots] = self.p_idx
        # (check=True fuses no relu into its DOT: tracing sees every slot)
        self.split = split(tape, self.in_slots, fuse_relu=not self.check, leaf_order=order)
        ref = self.split.ref
        self.in_rows = ref[self.in_slots].astype(np.int64)
        self.p_uslots = (-ref[self.p_slots] - 1).astype(np.int64)
        self.out_refs = ref[tape.outputs].astype(np.int64)
        self._out_list: list[int] = self.out_refs.tolist()
        n_uniform = self.split.uop.size
        uniform = np.zeros((2, n_uniform))  # values and gradients, as each thread's CallState starts
        c = np.flatnonzero(tape.op == Op.CONST)
        uniform[0, -ref[c] - 1] = tape.consts[tape.a[c]]
        self._uniform0 = uniform
        self._local = PerThread(uniform)

    @property
    def _ws(self) -> Workspace | None:
        """The lanes' arrays of this thread's last forward."""
        return self._local.state.ws

    def __getstate__(self) -> dict:
        """Pickled and copied without the threads' call states: a copy starts as a new graph does."""
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = PerThread(self._uniform0)

    def _workspace(self, state: CallState, rows: int) -> Workspace:
        """This thread's lanes' arrays for this many rows, reused while the batch size holds."""
        ws = state.ws
        if ws is None or ws.rows != rows:
            n_varying = self.split.vcode.shape[0]
            block = self.block_rows
            parallel = self.threads and rows >= self.parallel_rows and numba.get_num_threads() > 1
            if parallel:  # at least one chunk per thread
                block = min(block, -(-rows // numba.get_num_threads()))
            n_uniform = self._uniform0.shape[1]
            ws = state.ws = Workspace(n_varying, n_uniform, rows, block, parallel, self.in_slots.size)
            state.ready = NOT_READY  # train_step runs in the workspace of the last forward
        return ws

    def _rows(self, x: object, caller: str = "forward", name: str = "x") -> tuple[np.ndarray, bool]:
        """Check x and return it as (rows, n_inputs) float64, and whether it was one row; errors
        name the call and the argument (`jvp(dx)`)."""
        n = self.in_slots.size
        if type(x) is np.ndarray and x.dtype is F64 and x.ndim == 2 and x.shape[1] == n and x.flags.carray:
            return x, False  # the usual case, with nothing to convert
        call = f"{caller}({name})"
        if isinstance(x, Value) or (isinstance(x, (list, tuple)) and any(isinstance(v, Value) for v in x)):
            raise TypeError(
                f"{call}: {name} must hold real numbers, shape ({n},) or (rows, {n}): it holds Values; "
                "give their numbers (the Values went to compile(inputs=...))"
            )
        arrays = isinstance(x, (list, tuple)) and all(isinstance(p, np.ndarray) and p.ndim for p in x)
        if arrays and len(x) > 1 and not all(p.shape == (n,) for p in x):  # (X, Y), not a list of rows
            shapes = ", ".join(str(p.shape) for p in x)
            parts = "X, Y" if len(x) == 2 else ", ".join(f"X{k + 1}" for k in range(len(x)))
            raise TypeError(
                f"{call}: {name} is a {type(x).__name__} of {len(x)} arrays (shapes {shapes}); this graph "
                f"takes one array of rows, shape (rows, {n}), its columns in the order of "
                f"compile(inputs=...): join the inputs and targets column-wise, np.column_stack(({parts}))"
            )
        arr = real_array(x, call, name)  # what a number is: real.py's rule, the one Value(data) follows
        # C order, aligned and writeable, as the kernels were compiled for (jit.py): numba compiles
        # anew for each other layout, and a strided or read-only batch would make a program wait for it
        if arr.ndim == 1 and arr.shape[0] == n:
            return np.require(arr.reshape(1, n), requirements="CAW"), True
        if arr.ndim == 2 and arr.shape[1] == n:
            return np.require(arr, requirements="CAW"), False
        raise ValueError(f"{call}: {name} has shape {arr.shape}; this graph takes ({n},) or (rows, {n})")

    def forward(self, x: object) -> float | np.ndarray:
        """Outputs for one input row (a float) or for every row of a batch (shape (rows,))."""
        rows, single = self._rows(x)
        if self.store.version != self._version:
            self._bind()  # a parameter moved to another store since we last looked
        state = self._local.state
        ws = self._workspace(state, rows.shape[0])
        n_out = self.out_refs.size
        out = np.empty(rows.shape[0] * n_out)
        run = jit.kernels_now().run_forward
        if ws.parallel:
            with PARALLEL_CALLS:
                run(*self._kernel_args(ws, state), rows, out)
        else:
            run(*self._kernel_args(ws, state), rows, out)  # reads the store only: no lock
        state.ran = True
        if single:  # (train_step's fast path leaves single alone: it is made after a batch's forward)
            state.ready = NOT_READY
        state.single = single
        if self.check:
            self._check_values(ws, state)
        if single:
            return float(out[0]) if self.single_output else out
        return out if self.single_output else out.reshape(rows.shape[0], n_out)

    __call__ = forward

    # -- forward mode and second derivatives on a batch (see modes.py) ---------------------------
    #
    # Each compiles, at its first call, a graph built from this one's Values (its tangents, its
    # gradient graph, or that graph's tangents), with any directions as extra input columns, and
    # runs it on the same kernels: nothing new for numba to compile. Which way each goes was
    # measured on the moons MLP's loss (MLP(2, [16, 16, 1]), 100 rows, 337 parameters;
    # benchmarks/second_order.py, medians, two runs on a shared 2-core machine): one H·v takes
    # 0.15 ms every way (forward over reverse; reverse over reverse as a graph, or by the
    # kernels' reverse sweep), and forward over reverse is kept: it writes no gradient. The
    # whole Hessian took 18-36 ms as 337 reverse sweeps of the compiled gradient graph after
    # one forward (kept), 53 ms as 337 H·v calls forward over reverse, 53-81 ms by the
    # kernels' reverse over reverse, and 129-241 ms with the 337 directions as rows.

    def _derived_graph(self, kind: str) -> Derived:
        """The compiled graph `kind` derives from this one (see Derived), made at the first call.

        "jvp": the outputs and their tangents along new leaves, one per input ("jvp+parameters":
        one per input, then one per parameter). "hvp": the
        gradient graph's tangents along new leaves, one per parameter. "hessian": the gradient
        graph itself, on copies of the parameters (its backward writes their gradients, not
        the parameters' own).
        """
        derived = self._derived.get(kind)
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
        graph = Compiled(outs, inputs, check=self.check, threads=self.threads)
        where = {p: k for k, p in enumerate(self.parameters)}
        originals = {c: p for p, c in copies.items()}
        copied = np.array([where[originals.get(c, c)] for c in graph.parameters], dtype=np.int64)
        derived = Derived(graph, np.array(in_cols, np.int64), np.array(dir_cols, np.int64), copied)
        self._derived[kind] = derived
        return derived

    def jvp(
        self,
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
        call compiles the graph of the outputs and their tangents (modes.tangent_graph).
        """
        rows, single = self._rows(x, "jvp")
        if dx is None:
            drows = np.zeros_like(rows)
        else:
            drows, _ = self._rows(dx, "jvp", "dx")
            if drows.shape != rows.shape:
                raise ValueError(f"jvp(x, dx): dx has shape {np.shape(dx)}; it must have x's, {np.shape(x)}")
        if dparams is None:
            if wrt is not None:
                raise TypeError("jvp(wrt=...) orders dparams: give dparams too, one number per parameter")
            d = self._derived_graph("jvp")
            directions = drows
        else:
            full, _ = self._parameter_direction(dparams, wrt, "jvp", "dparams")
            d = self._derived_graph("jvp+parameters")
            directions = np.hstack([drows, np.tile(full, (rows.shape[0], 1))])
        out = d.graph.forward(np.hstack([rows[:, d.in_cols], directions[:, d.dir_cols]]))
        n_out = len(self.outputs)
        values, tangents = out[:, :n_out], out[:, n_out:]
        if self.single_output:
            values, tangents = values[:, 0], tangents[:, 0]
        if single:
            return (float(values[0]), float(tangents[0])) if self.single_output else (values[0], tangents[0])
        return values, tangents

    def _loss_rows(self, x: object, reduction: str, caller: str) -> np.ndarray:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{caller}(reduction={reduction!r}): use one of {REDUCTIONS}")
        rows, _ = self._rows(x, caller)
        if rows.shape[0] == 0:
            raise ValueError(f"{caller}(x): x has no rows; the loss is the {reduction} over x's rows")
        return rows

    def _positions(self, wrt: object, caller: str) -> np.ndarray:
        """Where each Value of wrt sits in self.parameters (all of them, in their order, for None)."""
        if wrt is None:
            return np.arange(len(self.parameters))
        where = {id(p): k for k, p in enumerate(self.parameters)}
        wanted = list(wrt) if isinstance(wrt, (list, tuple)) else None
        if wanted is None or not all(isinstance(p, Value) for p in wanted):
            raise TypeError(
                f"{caller}(wrt={shown(wrt)}): wrt must be a list of the graph's parameters, for example "
                "model.parameters()"
            )
        missing = [k for k, p in enumerate(wanted) if id(p) not in where]
        if missing:
            raise ValueError(
                f"{caller}(wrt=...): wrt[{missing[0]}] ({wanted[missing[0]]!r}) is not a parameter of this "
                "graph (an input, or a Value the loss does not read); give parameters from "
                "compiled.parameters"
            )
        k = np.array([where[id(p)] for p in wanted], dtype=np.int64)
        if np.unique(k).size != k.size:
            raise ValueError(f"{caller}(wrt=...): a parameter is listed twice; give each once")
        return k

    def _parameter_direction(
        self, v: object, wrt: object, caller: str, name: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """v, one number per parameter of wrt, as a direction of all the parameters (0 on the
        others), and where wrt's parameters sit in self.parameters."""
        k = self._positions(wrt, caller)
        if isinstance(v, dict):
            raise TypeError(
                f"{caller}({name}=dict): give {name} as a list or array, one number per parameter in "
                "wrt's order (wrt=model.parameters() for the model's)"
            )
        given = real_array(v, f"{caller}({name})", name).reshape(-1) if np.ndim(v) <= 1 else None
        if given is None or given.size != k.size:
            raise ValueError(
                f"{caller}({name}): {name} must hold one number per parameter of wrt ({k.size}), "
                f"got shape {np.shape(v)}"
            )
        full = np.zeros(len(self.parameters))
        full[k] = given
        return full, k

    def hvp(
        self, x: object, v: object, reduction: str = "mean", wrt: Sequence[Value] | None = None
    ) -> np.ndarray:
        """The Hessian-vector product H·v of the loss w.r.t. the parameters, shape (len(wrt),).

        The loss is the mean (or the sum) of the output over x's rows, as `backward(reduction)`
        differentiates. wrt: the parameters, in the order v and the result take them, for
        example `model.parameters()`; None takes `self.parameters` (the order the tape meets
        them, which need not be the model's). For a part of the parameters, v is 0 on the
        rest. Forward over reverse (Pearlmutter 1994): the tangent graph of the gradient graph
        along v, one forward of x's rows, no gradient written (measured: see `_derived_graph`).
        """
        rows = self._loss_rows(x, reduction, "hvp")
        full, k = self._parameter_direction(v, wrt, "hvp", "v")
        if k.size == 0:
            return np.zeros(0)
        d = self._derived_graph("hvp")
        columns = np.tile(full[d.dir_cols], (rows.shape[0], 1))
        out = d.graph.forward(np.hstack([rows[:, d.in_cols], columns]))
        return (out.mean(axis=0) if reduction == "mean" else out.sum(axis=0))[k]

    def hessian(self, x: object, reduction: str = "mean", wrt: Sequence[Value] | None = None) -> np.ndarray:
        """The Hessian of the loss w.r.t. the parameters, shape (len(wrt), len(wrt)).

        The loss and wrt as in `hvp` (pass `model.parameters()` to have rows and columns in
        the model's order). Reverse over reverse, the fastest way measured (see
        `_derived_graph`): the gradient graph, compiled once on copies of the parameters, runs
        one forward of x's rows, then one reverse sweep per gradient entry k, whose parameter
        gradients, summed over the rows in the kernel, are row k of H. Symmetric up to
        rounding, not symmetrised. The parameters' own `.grad` are not touched.
        """
        rows = self._loss_rows(x, reduction, "hessian")
        k = self._positions(wrt, "hessian")
        n = len(self.parameters)
        if n == 0 or k.size == 0:
            return np.zeros((k.size, k.size))
        d = self._derived_graph("hessian")
        graph = d.graph
        if self.store.version != self._version:
            self._bind()
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

    def backward(self, reduction: str = "mean", output: int | None = None) -> np.ndarray:
        """Gradients of the last forward's output(s): into parameters' .grad, inputs' returned.

        Each row's output is seeded with 1/rows ("mean") or 1 ("sum"); parameters
        accumulate the sum over rows. Returns ∂/∂inputs, shape (rows, n_inputs), or
        (n_inputs,) after a one-row forward.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"backward(reduction={reduction!r}): use one of {REDUCTIONS}")
        state = self._local.state
        if not state.ran:
            raise RuntimeError(
                "backward() needs a forward(x) first (in this thread): there are no values to differentiate"
            )
        n_out = len(self._out_list)
        if output is None:
            if n_out != 1:
                raise ValueError(f"this graph has {n_out} outputs: say which with backward(output=k)")
            output = 0
        elif isinstance(output, (bool, np.bool_)) or not isinstance(output, Integral):
            raise TypeError(f"backward(output={output!r}): output must be a whole number, 0..{n_out - 1}")
        elif not 0 <= output < n_out:
            raise ValueError(f"backward(output={output}): this graph has outputs 0..{n_out - 1}")
        if self.store.version != self._version:
            self._bind()
        ws = state.ws
        seed = 1.0 / max(ws.rows, 1) if reduction == "mean" else 1.0
        x_grad = np.empty((ws.rows, self.in_slots.size))
        args = self._kernel_args(ws, state)
        with Locks(PARALLEL_CALLS, self.store.lock) if ws.parallel else self.store.lock:  # the gradients
            jit.kernels_now().run_backward(*args, x_grad, self._out_list[output], seed)  # go into the store
        if self.check:
            self._check_grads(ws, state)
        return x_grad[0] if state.single else x_grad

    def _check_values(self, ws: Workspace, state: CallState) -> None:
        tape, ref, uvals = self.tape, self.split.ref, state.uniform[0]
        for vals, first in ws.chunks():
            slot, lane = nantrace.first_nonfinite(tape.op, tape.a, tape.b, tape.args, ref, vals, uvals, ARITY)
            if slot >= 0:
                value_of = _reader(ref, vals, uvals, lane)
                raise nantrace.value_error(tape, slot, lane + first if lane >= 0 else -1, value_of)

    def _check_grads(self, ws: Workspace, state: CallState) -> None:
        ref, ugrads = self.split.ref, state.uniform[1]
        for grads, first in ws.chunks(ws.grads):
            slot, lane = nantrace.last_nonfinite(ref, grads, ugrads)
            if slot >= 0:
                grad_of = _reader(ref, grads, ugrads, lane)
                raise nantrace.grad_error(self.tape, slot, lane + first if lane >= 0 else -1, grad_of)

    def train_step(self, x: object, optimizer: Optimizer) -> float:
        """One training step in one compiled call: forward, zero grads, backward (mean), update.

        Returns the mean output (the batch loss) before the update: the same as
        `forward(x).mean(); zero_grad(); backward(); optimizer.step()`, without the
        Python in between.
        """
        # The kernel's arguments from this thread's last step, while its optimizer, workspace and
        # store hold (a forward in another workspace, or of one row, drops them: see _workspace and
        # forward); the optimizer's settings are read from its arrays, so they may change between steps.
        opt, ws, args, lr, loss, acquire, release = self._local.state.ready
        if (
            opt is not optimizer
            or type(x) is not np.ndarray
            or x.dtype is not F64  # (NumPy's one float64 dtype; any other goes the long way)
            or x.shape != ws.shape
            or not x.flags.carray  # C order, aligned, writeable: what the kernels were compiled for
            or self.store.version != self._version
        ):  # the first step, or anything new: fit checks everything (and makes ready)
            return float(self._fit(x, optimizer, 1, caller="train_step")[0])
        acquire()  # the store's lock (the step writes the parameters and their gradients), the cheap way
        try:
            jit.kernels_now().train_steps(*args, x, lr, optimizer.t, loss)
            optimizer.t += 1
        finally:
            release()
        return loss.item()

    def _writer_locks(self, ws: Workspace) -> threading.Lock | Locks:
        """What a call that writes the store holds: the store's lock, after PARALLEL_CALLS for a
        workspace whose rows go over numba's threads."""
        return Locks(PARALLEL_CALLS, self.store.lock) if ws.parallel else self.store.lock

    def _kernel_args(self, ws: Workspace, state: CallState | None = None) -> tuple[np.ndarray, ...]:
        """The kernels' first six arguments: the program packed into one int32 array (see
        kernels.program_parts), the workspace's layout and buffer, the thread's uniform values
        and gradients (state: this thread's, by default), the store's data and grad, and threads
        (None, or True: see kernels.py). Kept, per thread, while the workspace and the store hold."""
        state = self._local.state if state is None else state
        ws_then, idx_then, args = state.args
        if ws_then is not ws or idx_then is not self.p_idx:
            # the program depends on the parameters' indices, not on the batch or the thread:
            # packed again only when they change, and shared by the threads
            idx, prog = self._packed
            if idx is not self.p_idx:
                idx, prog = self.p_idx, self._pack()
                self._packed = (idx, prog)
            arrays = (prog, ws.layout, ws.work, state.uniform, self.store.arrays, ws.threads)
            state.args = (ws, idx, arrays)
        return state.args[2]

    def _pack(self) -> np.ndarray:
        """The program's arrays in one int32 array (see kernels.program_parts); the split's
        arrays become views into it, so the program is not held twice."""
        sp = self.split
        parts = [sp.uop, sp.ua, sp.ub, sp.uargs, sp.vcode, sp.vargs, sp.vgroups, self.in_rows, self.p_uslots]
        parts += [self.p_idx, self.out_refs]
        assert len(parts) == kernels.PROGRAM_PARTS
        sizes = [part.size for part in parts]
        starts = np.cumsum([4 + len(parts)] + sizes)
        prog = np.empty(starts[-1], dtype=np.int32)
        prog[0], prog[3 : 4 + len(parts)] = sp.ufirst, starts
        prog[1] = prog[2] = -1
        n, idx, uslots = self.p_idx.size, self.p_idx, self.p_uslots
        if n and idx.max() - idx.min() == n - 1 and np.all(uslots - idx == uslots[0] - idx[0]):
            prog[1], prog[2] = idx.min(), uslots.min()  # the parameters: one run in the store and in uvals
        for part, start, size in zip(parts, starts, sizes, strict=False):
            prog[start : start + size] = part.ravel()
        view = [prog[start : start + size] for start, size in zip(starts, sizes, strict=False)]
        self.split = sp._replace(
            uop=view[0], ua=view[1], ub=view[2], uargs=view[3], vcode=view[4].reshape(sp.vcode.shape),
            vargs=view[5], vgroups=view[6],
        )  # fmt: skip
        return prog

    def _optimizer_slots(self, store_idx: np.ndarray) -> np.ndarray:
        """The optimizer's parameters for the fused steps: their store indices, and under them
        each one's uniform slot if all are this graph's parameters (the steps then update them
        where the graph reads them); shape (2, n), or (1, n) without the slots."""
        idx_then, version_then, opt_slots = self._opt_for
        if idx_then is not store_idx or version_then != self._version:
            where = dict(zip(self.p_idx.tolist(), self.p_uslots.tolist()))
            slots = [where.get(i, -1) for i in store_idx.tolist()]
            rows = [store_idx] if -1 in slots else [store_idx, slots]
            opt_slots = np.array(rows, dtype=np.uint32).reshape(len(rows), len(slots))  # unsigned: see
            self._opt_for = (store_idx, self._version, opt_slots)  # kernels.program_parts
        return opt_slots

    def _step_args(self, ws: Workspace, state: CallState, optimizer: Optimizer) -> tuple:
        """The fused steps' arguments before the rows (see kernels.train_steps)."""
        _, idx = optimizer.binding()
        return (
            *self._kernel_args(ws, state), optimizer.rule, self._optimizer_slots(idx),
            optimizer.settings, optimizer.state,
        )  # fmt: skip

    def fit(
        self,
        x: object,
        optimizer: Optimizer,
        steps: int | None = None,
        lr: float | Sequence[float] | Callable[[int], float] | None = None,
        every: int = 0,
        callback: Callable[..., object] | None = None,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        validation: object = None,
        model: object = None,
        verbose: bool | None = None,
    ) -> np.ndarray | History:
        """Train on x: `steps` full-batch steps, or `epochs` of shuffled mini-batches.

        fit(x, optimizer, steps): `steps` training steps on the whole batch x, in as few
        compiled calls as possible. lr: the optimizer's lr (None), or one per step (a
        sequence, or a function of the step number). Every `every` steps (0: only at the
        end) callback(step, losses so far) is called, for progress reports. Returns each
        step's mean loss, shape (steps,).

        fit(x, optimizer, epochs=E, batch_size=B, shuffle=True, seed=None, validation=None,
        model=None, verbose=None): E epochs, each one compiled call of ceil(rows / B)
        steps on mini-batches of x's rows (all rows if B is None), gathered inside the
        kernel; the last batch of an epoch takes the rows left (PyTorch's drop_last=False).
        The order is a new permutation each epoch from np.random.default_rng(seed)
        (shuffle=False: x's own order). validation: rows as this graph takes them, Xv,
        for the validation loss, or (Xv, yv) with yv their classes, for the accuracy
        too, which needs `model` (the Module whose outputs are the class scores; it
        reads the first model.nin columns of Xv). A progress bar per epoch on stderr, or
        live in a notebook's cell (verbose=None: on a terminal or in a notebook);
        callback(epoch, history so far) after each epoch. Returns a `History` (see training.py).
        """
        if epochs is not None or steps is None:
            from .training import fit_epochs  # (training.py imports this module)

            return fit_epochs(
                self, x, optimizer, steps, lr, every, callback, epochs, batch_size, shuffle, seed, validation,
                model, verbose,
            )  # fmt: skip
        for name, value in (("batch_size", batch_size), ("seed", seed), ("validation", validation),
                            ("model", model), ("verbose", verbose)):  # fmt: skip
            if value is not None:
                raise TypeError(
                    f"fit(x, optimizer, steps, {name}=...): {name} goes with epochs; steps are full-batch "
                    f"steps on x. For mini-batches write fit(x, optimizer, epochs=..., batch_size=...)"
                )
        if shuffle is not True:
            raise TypeError("fit(x, optimizer, steps, shuffle=...): shuffle goes with epochs=...")
        return self._fit(x, optimizer, steps, lr, every, callback)

    def _trainer(
        self, x: object, optimizer: Optimizer, caller: str, batch: int | None = None
    ) -> tuple[np.ndarray, Workspace, tuple]:
        """What training steps need, checked: x as rows, the workspace (for `batch` rows, or all
        of x's) and the kernels' arguments; train_step's fast path made ready for them."""
        optimizer_checked(optimizer, caller)
        rows, _ = self._rows(x, caller)
        if rows.shape[0] == 0:
            raise ValueError(
                f"{caller}(x): x has no rows; a training step's loss is the mean over the batch's rows, "
                "so it needs one row at least"
            )
        if self.out_refs.size != 1:
            raise ValueError(f"{caller} trains a graph with one output (the loss)")
        if self.store.version != self._version:
            self._bind()
        if optimizer.binding()[0] is not self.store:
            raise ValueError(
                "the optimizer's parameters and this graph's are in different stores: "
                "build the optimizer on the graph's parameters (for example model.parameters())"
            )
        state = self._local.state
        ws = self._workspace(state, rows.shape[0] if batch is None else batch)
        state.single = False
        state.ran = True
        args = self._step_args(ws, state, optimizer)
        if not self.check:
            lock, lr_now = self._writer_locks(ws), optimizer.settings[:1]  # train_step's fast path:
            state.ready = (optimizer, ws, args, lr_now, state.one_loss, lock.acquire, lock.release)
        return rows, ws, args

    def _fit(
        self,
        x: object,
        optimizer: Optimizer,
        steps: int,
        lr: float | Sequence[float] | Callable[[int], float] | None = None,
        every: int = 0,
        callback: Callable[[int, np.ndarray], object] | None = None,
        caller: str = "fit",
    ) -> np.ndarray:
        """fit's full-batch steps, with its errors naming `caller` (fit, or train_step's first step)."""
        optimizer_checked(optimizer, caller)
        steps = whole_number(steps, f"{caller}(steps)")
        every = whole_number(every, f"{caller}(every)")
        if callback is not None and not callable(callback):
            raise TypeError(
                f"{caller}(callback={callback!r}): callback must be a function of (step, losses so far) "
                "or None"
            )
        lrs = self._learning_rates(lr, optimizer, steps)
        rows, ws, args = self._trainer(x, optimizer, caller)
        state = self._local.state
        losses = np.empty(steps)
        chunk = every if every > 0 else max(steps, 1)
        if self.check:
            chunk = 1  # check each step's values and gradients before the next step
        for start in range(0, steps, chunk):
            stop = min(start + chunk, steps)
            with self._writer_locks(ws):  # the steps write the parameters, gradients, optimizer's state
                self._run_steps(args, rows, lrs[start:stop], optimizer.t, losses[start:stop])
                optimizer.t += stop - start
            if self.check:
                self._check_values(ws, state)
                self._check_grads(ws, state)
            if callback is not None:
                callback(stop, losses[:stop])
        if steps:
            optimizer.lr = float(lrs[-1])
        return losses

    def _fit_batches(
        self, rows: np.ndarray, optimizer: Optimizer, order: np.ndarray, batch: int, lrs: np.ndarray
    ) -> np.ndarray:
        """Steps on mini-batches of rows (a checked (n, inputs) float64 array): step k on the rows
        order[k·batch : (k + 1)·batch], the last on what is left (kernels.train_batches); one
        compiled call (one a step with check=True). Returns each step's mean loss. An epoch of fit."""
        _, ws, args = self._trainer(rows, optimizer, "fit", batch)
        losses = np.empty(lrs.size)
        state = self._local.state
        every = 1 if self.check else lrs.size  # check=True: each step's values and gradients
        for start in range(0, lrs.size, every):
            stop = min(start + every, lrs.size)
            part = order[start * batch : stop * batch]
            with self._writer_locks(ws):  # the steps write the parameters, gradients, optimizer's state
                self._run_batches(args, rows, part, batch, lrs[start:stop], optimizer.t, losses[start:stop])
                optimizer.t += stop - start
            if self.check:
                self._check_values(ws, state)
                self._check_grads(ws, state)
        return losses

    @staticmethod
    def _run_steps(args: tuple, rows: np.ndarray, lrs: np.ndarray, t: int, losses: np.ndarray) -> None:
        """len(lrs) steps, the optimizer's steps t + 1 on, in one call of the kernels; on the NumPy
        tier a few at a time, so that a long fit moves to the numba kernels as soon as they are
        compiled (jit.py)."""
        start, stop = 0, lrs.size
        while start < stop:
            run = jit.kernels_now()
            end = stop if run is kernels else min(stop, start + 20)
            run.train_steps(*args, rows, lrs[start:end], t + start, losses[start:end])
            start = end

    @staticmethod
    def _run_batches(
        args: tuple,
        rows: np.ndarray,
        order: np.ndarray,
        batch: int,
        lrs: np.ndarray,
        t: int,
        losses: np.ndarray,
    ) -> None:
        """_run_steps for mini-batches (kernels.train_batches): on the NumPy tier 20 at a time."""
        start, stop = 0, lrs.size
        while start < stop:
            run = jit.kernels_now()
            end = stop if run is kernels else min(stop, start + 20)
            part = order[start * batch : end * batch]
            run.train_batches(*args, rows, part, batch, lrs[start:end], t + start, losses[start:end])
            start = end

    @staticmethod
    def _learning_rates(lr: object, optimizer: Optimizer, steps: int) -> np.ndarray:
        if lr is None:
            lrs = np.full(steps, optimizer.lr)
        else:
            try:  # numbers by real.py's rule, the one Value(data) follows
                if callable(lr):
                    lrs = np.array([real(lr(k), f"lr({k})") for k in range(steps)], dtype=np.float64)
                elif isinstance(lr, (list, tuple, np.ndarray)):
                    # a copy, contiguous as the kernels were compiled for (a strided one: numba compiles anew)
                    lrs = np.array(real_array(lr, "fit(lr)", "lr")).reshape(-1)
                else:
                    lrs = np.full(steps, real(lr, "fit(lr)"))
            except TypeError as e:
                raise TypeError(
                    f"fit(lr={lr!r}): lr must be a number, a list of one number per step, a function of the "
                    f"step number, or None for the optimizer's lr ({e})"
                ) from None
        if lrs.shape != (steps,):
            raise ValueError(f"fit: got {lrs.size} learning rates for {steps} steps")
        if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
            raise ValueError("fit: learning rates must be finite and >= 0")
        return lrs

    def __repr__(self) -> str:
        return (
            f"<Compiled {len(self.tape)} slots, {self.in_slots.size} inputs, "
            f"{len(self.parameters)} parameters, {self.tape.outputs.size} outputs>"
        )


class Derived:
    """A graph compiled from another's Values (Compiled._derived_graph): `graph`; the columns of
    x it reads (`in_cols`); the directions it reads (`dir_cols`, the others no tangent reaches);
    and for each of its parameters that copies one of the original's, that one's index in the
    original's `parameters` (`copied`)."""

    def __init__(
        self, graph: Compiled, in_cols: np.ndarray, dir_cols: np.ndarray, copied: np.ndarray
    ) -> None:
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


def _reader(ref: np.ndarray, rows: np.ndarray, uniform: np.ndarray, lane: int):
    """A function from tape slot to its number on `lane` (uniform slots: their one value)."""
    return lambda s: uniform[-ref[s] - 1] if ref[s] < 0 else rows[ref[s], max(lane, 0)]


def compile(  # noqa: A001
    outputs: Value | Sequence[Value],
    inputs: Sequence[Value] = (),
    optimize: bool | Sequence[str] = True,
    check: bool = False,
    threads: bool = False,
) -> Compiled:
    """Flatten `outputs` once into a replayable compiled graph with the given input leaves.

    `optimize` runs the tape passes (all by default; False for none, or a list of
    names from `microgradx.passes.PASSES`). `check=True` scans every forward and
    backward for nan or inf and raises FloatingPointError naming where it came from.
    `threads=True` splits batches of `Compiled.parallel_rows` rows or more over numba's
    threads: up to 1.8 times faster on a machine of your own, many times slower on a
    busy shared one (benchmarks/parallel.py); its kernels compile at its first such batch.
    """
    return Compiled(outputs, inputs, optimize, check, threads)
