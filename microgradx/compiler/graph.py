"""The compiled graph: a tape bound to its parameters, run forward and backward on batches.

The inputs are leaves of the graph that you name; every other leaf is a parameter,
bound to a flat `Store` shared with optimizers. Each forward reads the parameters'
current values, so `p.data -= lr * p.grad` between steps does what it says.

What does not depend on the inputs runs once per call, the rest once per row, all
rows together as lanes (see program.py); parameter gradients are summed over the
rows inside the kernel.

A compiled graph may be called from several threads at once. What a call works in
is the thread's own (`CallState`, workspace.py: the lanes' arrays, the uniform values
and gradients, the last forward's rows, so a backward differentiates its own thread's
forward); what calls share, the parameters' Store, is written under the store's lock
(backward adds gradients into it, train_step and fit update the parameters), so two
graphs sharing parameters take turns there too. Forwards only read the store: they run
side by side (the kernels release the GIL). Calls that split their rows over numba's
threads (threads=True) take turns whatever they write: numba's workqueue threading
layer, the one it falls back to without TBB or OpenMP, aborts the process when two
threads run its parallel kernels at once.

`microgradx.Compiled` (compiled.py) is this Graph with second_order.py's jvp, hvp and
hessian and training/'s train_step and fit as its methods.

Equals: the scalar sweeps (Value.backward, kernels/scalar.py) run row by row, and the
reference sweep: tests/test_random_graphs.py (test_batched_lanes_equal_scalar_rows,
test_compiled_networks_match_the_reference_sweep) and tests/test_compiled.py.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np

from ..core import forks, nantrace
from ..core.engine import Value, bind
from ..core.ops import ARITY, Op
from ..core.store import Store
from ..core.tape import Tape, flatten
from ..kernels import chunks, jit
from ..kernels.layout import pack_program
from . import checks, passes
from .program import split
from .workspace import NOT_READY, CallState, PerThread, Workspace

PARALLEL_CALLS = forks.module_lock(threading.Lock())  # held by every call that runs the thread-parallel
# kernels (see the top); released in a forked child (core/forks.py), as every lock of the package


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


class Graph:
    """A graph flattened to a tape, with its inputs and parameters located on it."""

    # Rows go through the varying program in blocks of at most block_rows lanes, so that a
    # block's values stay in cache; with threads=True, from parallel_rows rows on, blocks run
    # on all of numba's threads (benchmarks/parallel.py: on an idle 2-core machine two threads
    # win from about 256 rows, at most 1.8 times; with two other busy processes they lost at
    # every size, up to 270 times: so one thread is the default).
    block_rows = 256
    parallel_rows = 512
    # Layers run as matrix products (program.group_dots); False keeps the tiles and plain DOTs,
    # the path the tests hold the matrix products to (tests/test_matrix_layers.py).
    matrix_layers = True

    def __init__(
        self,
        outputs: Value | Sequence[Value],
        inputs: Sequence[Value],
        optimize: bool | Sequence[str] = True,
        check: bool = False,
        threads: bool = False,
    ) -> None:
        outputs = checks.output_values(outputs)
        inputs = checks.input_values(inputs)
        names = checks.pass_names(optimize)
        self.single_output = isinstance(outputs, Value)
        self.outputs: list[Value] = [outputs] if self.single_output else outputs  # before the passes
        self.derived: dict = {}  # the graphs second_order.py derives from this one, by kind
        self.check = checks.flag(check, "compile(check)")
        self.threads = checks.flag(threads, "compile(threads)")
        tape = flatten(outputs)
        if names:
            tape = passes.optimize(tape, names)
        self.tape: Tape = tape
        in_slots = checks.input_slots(inputs, {id(tape.nodes[s]): int(s) for s in tape.leaves})
        self.inputs = inputs
        self.in_slots = np.array(in_slots, dtype=np.int64)
        taken = set(in_slots)
        self.p_slots = np.array([s for s in tape.leaves if s not in taken], dtype=np.int64)
        self.parameters: list[Value] = [tape.nodes[s] for s in self.p_slots]
        self.bind()
        self._program()
        self._packed: tuple = (None, None)  # (p_idx, the program packed for it): see kernel_args

    def bind(self) -> None:
        """Find (or make) the one Store holding the parameters, and their indices in it; `version`
        is the store's version then (a parameter moved to another store bumps it)."""
        self.store, self.p_idx = (
            bind(self.parameters) if self.parameters else (Store(0), np.zeros(0, np.int64))
        )
        self.version = self.store.version

    def _program(self) -> None:
        """Split the tape into the uniform program (once per call) and the varying one (per lane)."""
        tape = self.tape
        order = np.arange(len(tape)) + len(self.store)  # parameters first, in the store's order
        order[self.p_slots] = self.p_idx
        # (check=True fuses no relu into its DOT: tracing sees every slot)
        self.split = split(
            tape, self.in_slots, fuse_relu=not self.check, leaf_order=order, matrix=self.matrix_layers
        )
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
        self.per_thread = PerThread(uniform)

    @property
    def _ws(self) -> Workspace | None:
        """The lanes' arrays of this thread's last forward."""
        return self.per_thread.state.ws

    def __getstate__(self) -> dict:
        """Pickled and copied without the threads' call states: a copy starts as a new graph does."""
        state = self.__dict__.copy()
        del state["per_thread"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.per_thread = PerThread(self._uniform0)

    def workspace(self, state: CallState, rows: int) -> Workspace:
        """This thread's lanes' arrays for this many rows, reused while the batch size holds."""
        ws = state.ws
        if ws is None or ws.rows != rows:
            n_varying = self.split.vcode.shape[0]
            block = self.block_rows
            parallel = self.threads and rows >= self.parallel_rows
            if parallel:  # (numba.get_num_threads starts numba's threads: the layer is chosen first)
                chunks.fork_safe_threads()
                parallel = numba.get_num_threads() > 1
            if parallel:  # at least one chunk per thread
                block = min(block, -(-rows // numba.get_num_threads()))
            n_uniform = self._uniform0.shape[1]
            ws = state.ws = Workspace(
                n_varying, n_uniform, rows, block, parallel, self.in_slots.size, self.split.vcode
            )
            state.ready = NOT_READY  # train_step runs in the workspace of the last forward
        return ws

    def rows(self, x: object, caller: str = "forward", name: str = "x") -> tuple[np.ndarray, bool]:
        """x checked and made (rows, n_inputs) float64 (checks.rows), and whether it was one row."""
        return checks.rows(x, self.in_slots.size, caller, name)

    def forward(self, x: object) -> float | np.ndarray:
        """Outputs for one input row (a float) or for every row of a batch (shape (rows,))."""
        rows, single = checks.rows(x, self.in_slots.size)
        if self.store.version != self.version:
            self.bind()  # a parameter moved to another store since we last looked
        state = self.per_thread.state
        ws = self.workspace(state, rows.shape[0])
        n_out = self.out_refs.size
        out = np.empty(rows.shape[0] * n_out)
        run = jit.kernels_now().run_forward
        if ws.parallel:
            with PARALLEL_CALLS:
                run(*self.kernel_args(ws, state), rows, out)
        else:
            run(*self.kernel_args(ws, state), rows, out)  # reads the store only: no lock
        state.ran = True
        if single:  # (train_step's fast path leaves single alone: it is made after a batch's forward)
            state.ready = NOT_READY
        state.single = single
        if self.check:
            self.check_values(ws, state)
        if single:
            return float(out[0]) if self.single_output else out
        return out if self.single_output else out.reshape(rows.shape[0], n_out)

    __call__ = forward

    def backward(self, reduction: str = "mean", output: int | None = None) -> np.ndarray:
        """Gradients of the last forward's output(s): into parameters' .grad, inputs' returned.

        Each row's output is seeded with 1/rows ("mean") or 1 ("sum"); parameters
        accumulate the sum over rows. Returns ∂/∂inputs, shape (rows, n_inputs), or
        (n_inputs,) after a one-row forward.
        """
        checks.reduction(reduction, "backward")
        state = self.per_thread.state
        if not state.ran:
            raise RuntimeError(
                "backward() needs a forward(x) first (in this thread): there are no values to differentiate"
            )
        n_out = len(self._out_list)
        output = 0 if output is None and n_out == 1 else checks.output_index(output, n_out)
        if self.store.version != self.version:
            self.bind()
        ws = state.ws
        seed = 1.0 / max(ws.rows, 1) if reduction == "mean" else 1.0
        x_grad = np.empty((ws.rows, self.in_slots.size))
        args = self.kernel_args(ws, state)
        with self.writer_locks(ws):  # the gradients go into the store
            jit.kernels_now().run_backward(*args, x_grad, self._out_list[output], seed)
        if self.check:
            self.check_grads(ws, state)
        return x_grad[0] if state.single else x_grad

    def check_values(self, ws: Workspace, state: CallState) -> None:
        """Raise FloatingPointError naming the slot where a nan or inf first appeared (nantrace.py)."""
        tape, ref, uvals = self.tape, self.split.ref, state.uniform[0]
        for vals, first in ws.chunks():
            slot, lane = nantrace.first_nonfinite(tape.op, tape.a, tape.b, tape.args, ref, vals, uvals, ARITY)
            if slot >= 0:
                value_of = _reader(ref, vals, uvals, lane)
                raise nantrace.value_error(tape, slot, lane + first if lane >= 0 else -1, value_of)

    def check_grads(self, ws: Workspace, state: CallState) -> None:
        """Raise FloatingPointError naming the slot where a gradient stopped being finite."""
        ref, ugrads = self.split.ref, state.uniform[1]
        for grads, first in ws.chunks(ws.grads):
            slot, lane = nantrace.last_nonfinite(ref, grads, ugrads)
            if slot >= 0:
                grad_of = _reader(ref, grads, ugrads, lane)
                raise nantrace.grad_error(self.tape, slot, lane + first if lane >= 0 else -1, grad_of)

    def writer_locks(self, ws: Workspace) -> threading.Lock | Locks:
        """What a call that writes the store holds: the store's lock, after PARALLEL_CALLS for a
        workspace whose rows go over numba's threads."""
        return Locks(PARALLEL_CALLS, self.store.lock) if ws.parallel else self.store.lock

    def kernel_args(self, ws: Workspace, state: CallState | None = None) -> tuple[np.ndarray, ...]:
        """The kernels' first six arguments: the program packed into one int32 array (see
        kernels/layout.py), the workspace's layout and buffer, the thread's uniform values
        and gradients (state: this thread's, by default), the store's data and grad, and threads
        (None, or True: see kernels/chunks.py). Kept, per thread, while the workspace and the
        store hold."""
        state = self.per_thread.state if state is None else state
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
        """The program's arrays in one int32 array (kernels/layout.py's pack_program); the split's
        arrays become views into it, so the program is not held twice."""
        sp = self.split
        prog, view = pack_program(sp, self.in_rows, self.p_uslots, self.p_idx, self.out_refs)
        self.split = sp._replace(
            uop=view[0], ua=view[1], ub=view[2], uargs=view[3], vcode=view[5].reshape(sp.vcode.shape),
            vargs=view[6], vgroups=view[7],
        )  # fmt: skip
        return prog

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {len(self.tape)} slots, {self.in_slots.size} inputs, "
            f"{len(self.parameters)} parameters, {self.tape.outputs.size} outputs>"
        )


def _reader(ref: np.ndarray, rows: np.ndarray, uniform: np.ndarray, lane: int):
    """A function from tape slot to its number on `lane` (uniform slots: their one value)."""
    return lambda s: uniform[-ref[s] - 1] if ref[s] < 0 else rows[ref[s], max(lane, 0)]
