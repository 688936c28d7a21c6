"""`microgradx.compile`: flatten a graph once, replay it on new inputs many times.

The inputs are leaves of the graph that you name; every other leaf is a parameter,
bound to a flat `Store` shared with optimizers. Each forward reads the parameters'
current values, so `p.data -= lr * p.grad` between steps does what it says.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import kernels
from .engine import Value
from .ops import Op
from .store import Store, bind
from .tape import Tape, flatten

REDUCTIONS = ("mean", "sum")


class Compiled:
    """A graph flattened to a tape, with its inputs and parameters located on it."""

    def __init__(self, outputs: Value | Sequence[Value], inputs: Sequence[Value]) -> None:
        self.single_output = isinstance(outputs, Value)
        self.tape: Tape = flatten(outputs)
        tape = self.tape
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
        self._vals: np.ndarray | None = None  # workspace of the last forward
        self._grads: np.ndarray | None = None
        self._ran = False

    def _bind(self) -> None:
        self.store, self.p_idx = bind(self.parameters) if self.parameters else (Store(0), np.zeros(0, np.int64))
        self._version = self.store.version

    def _workspace(self, lanes: int | None) -> np.ndarray:
        """vals for `lanes` rows (None: scalar), reused between calls, constants filled in."""
        shape = (len(self.tape),) if lanes is None else (len(self.tape), lanes)
        if self._vals is None or self._vals.shape != shape:
            tape = self.tape
            self._vals = np.zeros(shape)
            c = np.flatnonzero(tape.op == Op.CONST)
            self._vals[c] = tape.consts[tape.a[c]][:, None] if lanes is not None else tape.consts[tape.a[c]]
            self._grads = np.zeros(shape)
        return self._vals

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
            return np.ascontiguousarray(arr), False
        raise ValueError(f"forward(x): x has shape {arr.shape}; this graph takes ({n},) or (rows, {n})")

    def forward(self, x: object) -> float | np.ndarray:
        """Outputs for one input row (a float) or for every row of a batch (shape (rows,))."""
        rows, single = self._rows(x)
        if self.store.version != self._version:
            self._bind()  # a parameter moved to another store since we last looked
        tape = self.tape
        if single:
            vals = self._workspace(None)
            vals[self.in_slots] = rows[0]
            vals[self.p_slots] = self.store.data[self.p_idx]
            kernels.forward(tape.op, tape.a, tape.b, tape.args, vals)
            self._ran = True
            out = vals[tape.outputs]
            return float(out[0]) if self.single_output else out.copy()
        vals = self._workspace(rows.shape[0])
        kernels.load_batch(vals, self.in_slots, rows, self.p_slots, self.store.data, self.p_idx)
        kernels.forward_batch(tape.op, tape.a, tape.b, tape.args, vals)
        self._ran = True
        out = vals[tape.outputs]
        return out[0].copy() if self.single_output else out.T.copy()

    __call__ = forward

    def backward(self, reduction: str = "mean", output: int | None = None) -> np.ndarray:
        """Gradients of the last forward's output(s): into parameters' .grad, inputs' returned.

        Each row's output is seeded with 1/rows ("mean") or 1 ("sum"); parameters
        accumulate the sum over rows. Returns ∂/∂inputs, shape (rows, n_inputs), or
        (n_inputs,) after a one-row forward.
        """
        if reduction not in REDUCTIONS:
            raise ValueError(f"backward(reduction={reduction!r}): use one of {REDUCTIONS}")
        if not self._ran:
            raise RuntimeError("backward() needs a forward(x) first: there are no values to differentiate")
        n_out = self.tape.outputs.size
        if output is None:
            if n_out != 1:
                raise ValueError(f"this graph has {n_out} outputs: say which with backward(output=k)")
            output = 0
        elif not 0 <= output < n_out:
            raise ValueError(f"backward(output={output}): this graph has outputs 0..{n_out - 1}")
        tape, vals, grads = self.tape, self._vals, self._grads
        grads.fill(0.0)
        if vals.ndim == 1:
            grads[tape.outputs[output]] = 1.0
            kernels.backward(tape.op, tape.a, tape.b, tape.args, vals, grads)
            self.store.grad[self.p_idx] += grads[self.p_slots]
            return grads[self.in_slots].copy()
        lanes = vals.shape[1]
        grads[tape.outputs[output]] = 1.0 / max(lanes, 1) if reduction == "mean" else 1.0
        kernels.backward_batch(tape.op, tape.a, tape.b, tape.args, vals, grads)
        x_grad = np.empty((lanes, self.in_slots.size))
        kernels.reduce_batch(grads, self.in_slots, x_grad, self.p_slots, self.store.grad, self.p_idx)
        return x_grad

    def __repr__(self) -> str:
        return (
            f"<Compiled {len(self.tape)} slots, {self.in_slots.size} inputs, "
            f"{len(self.parameters)} parameters, {self.tape.outputs.size} outputs>"
        )


def compile(outputs: Value | Sequence[Value], inputs: Sequence[Value] = ()) -> Compiled:  # noqa: A001
    """Flatten `outputs` once into a replayable compiled graph with the given input leaves."""
    return Compiled(outputs, inputs)
