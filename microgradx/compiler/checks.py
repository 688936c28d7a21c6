"""What compile() and a compiled graph's calls take, checked at the Python boundary.

Every check raises before an array reaches numba, with a message that names the call, the
argument and the fix (`forward(x): x has shape (3, 5); this graph takes (2,) or (rows, 2)`).
Numbers follow core/real.py's rule, the one `Value(data)` follows. compiler/graph.py and
compiler/second_order.py call these; training/ checks its own arguments with
`whole_number` and `flag`.
"""

from __future__ import annotations

import os
from numbers import Integral
from pathlib import Path

import numpy as np

from ..core.engine import Value
from ..core.ops import Op
from ..core.real import first_nonfinite, real_array, shown
from .passes import PASSES

REDUCTIONS = ("mean", "sum")
F64 = np.dtype(np.float64)


def whole_number(x: object, what: str, low: int = 0) -> int:
    """x as an int >= low: Python's and NumPy's integers, not bools; else an error naming it and
    the bound the caller needs (a batch size's 1, a step count's 0)."""
    if type(x) is int and x >= low:  # the usual case, without the ABC's isinstance (half a microsecond)
        return x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, Integral):
        raise TypeError(f"{what} must be a whole number (an int >= {low}), got {x!r} ({type(x).__name__})")
    if x < low:
        raise ValueError(f"{what} must be a whole number >= {low}, got {x!r}")
    return int(x)


def random_seed(x: object, what: str) -> int | np.random.Generator | None:
    """A seed for `np.random.default_rng`: None (fresh entropy), a NumPy Generator (drawn from as
    it is) or a whole number >= 0; else an error naming `what` (NumPy's own names neither the call
    nor the argument: "SeedSequence expects int or sequence of ints", "expected non-negative integer")."""
    if x is None or isinstance(x, np.random.Generator):
        return x
    return whole_number(x, what)


def file_path(path: object, call: str, what: str = "the file, like 'model.npz'") -> Path:
    """A path the package reads or writes, as a Path: a str or an os.PathLike (a pathlib.Path);
    TypeError naming `call` and `what` it takes for anything else (os.fspath's "expected str,
    bytes or os.PathLike object, not int" named neither the call nor the argument): the model
    files' paths (serialize) and the pictures' (viz's render and explore)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{call}: path must be a str or a pathlib.Path ({what}), "
            f"got {shown(path)} ({type(path).__name__})"
        )
    return Path(path)


def flag(x: object, what: str) -> bool:
    """x as a bool: True or False (NumPy's too), never a truthy string like "no"."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {x!r} ({type(x).__name__})")
    return bool(x)


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


def input_slots(inputs: list[Value], leaf_slot: dict[int, int]) -> list[int]:
    """Each input's slot on the tape (leaf_slot: a leaf's id -> its slot); an error names an input
    that is not a leaf of the graph, or is listed twice."""
    in_slots: list[int] = []
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
    return in_slots


def rows(x: object, n: int, caller: str = "forward", name: str = "x") -> tuple[np.ndarray, bool]:
    """x checked as a graph of n inputs takes it, as (rows, n) float64, and whether it was one row;
    errors name the call and the argument (`jvp(dx)`)."""
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
    # C order, aligned and writeable, as the kernels were compiled for (jit.py): numba compiles anew
    # for each other layout, and a strided or read-only batch would make a program wait for it
    if arr.ndim == 1 and arr.shape[0] == n:
        return np.require(arr.reshape(1, n), requirements="CAW"), True
    if arr.ndim == 2 and arr.shape[1] == n:
        return np.require(arr, requirements="CAW"), False
    raise ValueError(
        f"{call}: {name} has shape {arr.shape}; this graph takes ({n},) or (rows, {n}): a column for each "
        f"of compile(inputs=...)'s {n} Values, in their order (targets too, one-hot for classes)"
    )


HARM = "a training step would make every parameter it reaches nan"


def finite(rows: np.ndarray, caller: str, name: str = "x", harm: str = HARM) -> np.ndarray:
    """rows (a checked batch, shape (rows, n)), if every entry is finite. A training step on a
    nan or inf writes nan into every parameter the row reaches, and into the optimizer's state,
    with nothing to see until the loss is nan: the steps refuse it (forward lets it through),
    and fit its validation rows. `caller` names the call ("train_step", "fit(validation)"),
    `harm` what the nan would do."""
    if np.isfinite(rows).all():  # (one pass, no index array: the usual case)
        return rows
    k, count = first_nonfinite(rows)
    r, c = divmod(k, rows.shape[1])
    call = caller if "(" in caller else f"{caller}({name})"
    raise ValueError(
        f"{call}: {name} holds nan or inf: {name}[{r}, {c}] = {rows.flat[k]} ({count} of {rows.size}); "
        f"{harm}. Drop or fill those rows first ({name}[np.isfinite({name}).all(axis=1)] keeps the "
        "finite ones)"
    )


def reduction(value: str, caller: str) -> str:
    """backward's, hvp's and hessian's reduction: "mean" or "sum"."""
    if value not in REDUCTIONS:
        raise ValueError(f"{caller}(reduction={value!r}): use one of {REDUCTIONS}")
    return value


def output_index(output: object, n_out: int) -> int:
    """backward's output: which output to differentiate (None for the one output of a graph that has one)."""
    if output is None:
        if n_out != 1:
            raise ValueError(f"this graph has {n_out} outputs: say which with backward(output=k)")
        return 0
    if isinstance(output, (bool, np.bool_)) or not isinstance(output, Integral):
        raise TypeError(f"backward(output={output!r}): output must be a whole number, 0..{n_out - 1}")
    if not 0 <= output < n_out:
        raise ValueError(f"backward(output={output}): this graph has outputs 0..{n_out - 1}")
    return int(output)


def positions(parameters: list[Value], wrt: object, caller: str) -> np.ndarray:
    """Where each Value of wrt sits in parameters (all of them, in their order, for None)."""
    if wrt is None:
        return np.arange(len(parameters))
    where = {id(p): k for k, p in enumerate(parameters)}
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


def parameter_direction(
    parameters: list[Value], v: object, wrt: object, caller: str, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """v, one number per parameter of wrt, as a direction of all the parameters (0 on the
    others), and where wrt's parameters sit in parameters."""
    k = positions(parameters, wrt, caller)
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
    full = np.zeros(len(parameters))
    full[k] = given
    return full, k
