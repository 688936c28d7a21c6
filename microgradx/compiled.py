"""`microgradx.compile`: flatten a graph once, replay it on new inputs many times.

The inputs are leaves of the graph that you name; every other leaf is a parameter,
bound to a flat `Store` shared with optimizers. Each forward reads the parameters'
current values, so `p.data -= lr * p.grad` between steps does what it says.

What does not depend on the inputs runs once per call, the rest once per row, all
rows together as lanes (see program.py); parameter gradients are summed over the
rows inside the kernel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import kernels, passes
from .engine import Value
from .ops import Op
from .passes import PASSES
from .program import split
from .store import Store, bind
from .tape import Tape, flatten

REDUCTIONS = ("mean", "sum")


class Compiled:
    """A graph flattened to a tape, with its inputs and parameters located on it."""

    def __init__(
        self, outputs: Value | Sequence[Value], inputs: Sequence[Value], optimize: bool | Sequence[str] = True
    ) -> None:
        self.single_output = isinstance(outputs, Value)
        tape = flatten(outputs)
        if optimize:
            tape = passes.optimize(tape, PASSES if optimize is True else tuple(optimize))
        self.tape: Tape = tape
        leaf_slot = {id(tape.nodes[s]): int(s) for s in tape.leaves}
        in_slots = []
        for k, x in enumerate(inputs):
            if not isinstance(x, Value):
                raise TypeError(f"inputs[{k}] is {type(x).__name__}, not a Value")
            s = leaf_slot.get(id(x))
            if s is None:
                why = "is computed from other Values" if x.op != Op.LEAF else "is not in the graph"
                raise ValueError(f"inputs[{k}] ({x!r}) {why}: inputs must be leaves of the graph")
            if s in in_slots:
                raise ValueError(f"inputs[{k}] ({x!r}) is listed twice")
            in_slots.append(s)
        self.inputs = list(inputs)
        self.in_slots = np.array(in_slots, dtype=np.int64)
        taken = set(in_slots)
        self.p_slots = np.array([s for s in tape.leaves if s not in taken], dtype=np.int64)
        self.parameters: list[Value] = [tape.nodes[s] for s in self.p_slots]
        self._bind()
        self._program()
        self._vals: np.ndarray | None = None  # workspace of the last forward
        self._grads: np.ndarray | None = None
        self._single = False

    def _bind(self) -> None:
        self.store, self.p_idx = bind(self.parameters) if self.parameters else (Store(0), np.zeros(0, np.int64))
        self._version = self.store.version

    def _program(self) -> None:
        """Split the tape into the uniform program (once per call) and the varying one (per lane)."""
        tape = self.tape
        self.split = split(tape, self.in_slots)
        ref = self.split.ref
        self.in_rows = ref[self.in_slots].astype(np.int64)
        self.p_uslots = (-ref[self.p_slots] - 1).astype(np.int64)
        self.out_refs = ref[tape.outputs].astype(np.int64)
        n_uniform = self.split.uop.size
        self._uvals = np.zeros(n_uniform)
        self._ugrads = np.zeros(n_uniform)
        c = np.flatnonzero(tape.op == Op.CONST)
        self._uvals[-ref[c] - 1] = tape.consts[tape.a[c]]

    def _workspace(self, lanes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """vals, grads (varying slots × lanes) and scratch rows, reused while the batch size holds."""
        n = self.split.vcode.shape[0]
        if self._vals is None or self._vals.shape != (n, lanes):
            self._vals = np.zeros((n, lanes))
            self._grads = np.zeros((n, lanes))
            self._tmp = np.zeros((4, lanes))
        return self._vals, self._grads, self._tmp

    def _rows(self, x: object) -> tuple[np.ndarray, bool]:
        """Check x and return it as (rows, n_inputs) float64, and whether it was one row."""
        n = self.in_slots.size
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"forward(x): x must hold real numbers, shape ({n},) or (rows, {n}): {e}") from None
        if np.iscomplexobj(x):
            raise TypeError("forward(x): x must hold real numbers, got complex")
        if arr.ndim == 1 and arr.shape[0] == n:
            return arr.reshape(1, n), True
        if arr.ndim == 2 and arr.shape[1] == n:
            return arr, False
        raise ValueError(f"forward(x): x has shape {arr.shape}; this graph takes ({n},) or (rows, {n})")

    def forward(self, x: object) -> float | np.ndarray:
        """Outputs for one input row (a float) or for every row of a batch (shape (rows,))."""
        rows, single = self._rows(x)
        if self.store.version != self._version:
            self._bind()  # a parameter moved to another store since we last looked
        sp = self.split
        vals, _, tmp = self._workspace(rows.shape[0])
        kernels.run_forward(
            sp.uop, sp.ua, sp.ub, sp.uargs, self._uvals, self.p_uslots, self.store.data, self.p_idx,
            sp.vcode, sp.vargs, vals, self.in_rows, rows, tmp,
        )  # fmt: skip
        self._single = single
        outs = np.empty((rows.shape[0], self.out_refs.size))
        for c, r in enumerate(self.out_refs):
            outs[:, c] = vals[r] if r >= 0 else self._uvals[-r - 1]
        if single:
            return float(outs[0, 0]) if self.single_output else outs[0]
        return outs[:, 0] if self.single_output else outs

    __call__ = forward

    def backward(self, reduction: str = "mean", output: int | None = None) -> np.ndarray:
        """Gradients of the last forward's output(s): into parameters' .grad, inputs' returned.

        Each row's output is seeded with 1/rows ("mean") or 1 ("sum"); parameters
        accumulate the sum over rows. Returns ∂/∂inputs, shape (rows, n_inputs), or
        (n_inputs,) after a one-row forward.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"backward(reduction={reduction!r}): use one of {REDUCTIONS}")
        if self._vals is None:
            raise RuntimeError("backward() needs a forward(x) first: there are no values to differentiate")
        n_out = self.out_refs.size
        if output is None:
            if n_out != 1:
                raise ValueError(f"this graph has {n_out} outputs: say which with backward(output=k)")
            output = 0
        elif not 0 <= output < n_out:
            raise ValueError(f"backward(output={output}): this graph has outputs 0..{n_out - 1}")
        if self.store.version != self._version:
            self._bind()
        sp = self.split
        vals, grads, tmp = self._vals, self._grads, self._tmp
        lanes = vals.shape[1]
        seed = 1.0 / max(lanes, 1) if reduction == "mean" else 1.0
        x_grad = np.empty((lanes, self.in_slots.size))
        kernels.run_backward(
            sp.uop, sp.ua, sp.ub, sp.uargs, self._uvals, self._ugrads, self.p_uslots, self.store.grad,
            self.p_idx, sp.vcode, sp.vargs, vals, grads, self.in_rows, x_grad, tmp,
            self.out_refs[output], seed,
        )  # fmt: skip
        return x_grad[0] if self._single else x_grad

    def __repr__(self) -> str:
        return (
            f"<Compiled {len(self.tape)} slots, {self.in_slots.size} inputs, "
            f"{len(self.parameters)} parameters, {self.tape.outputs.size} outputs>"
        )


def compile(  # noqa: A001
    outputs: Value | Sequence[Value], inputs: Sequence[Value] = (), optimize: bool | Sequence[str] = True
) -> Compiled:
    """Flatten `outputs` once into a replayable compiled graph with the given input leaves.

    `optimize` runs the tape passes (all by default; False for none, or a list of
    names from `microgradx.passes.PASSES`)."""
    return Compiled(outputs, inputs, optimize)
