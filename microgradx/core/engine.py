"""`Value`: a scalar node of a computation graph, micrograd's API without closures.

Each Value is a small `__slots__` object holding its op code and operands. Building
`(u + v) * w` computes `.data` at once (from the op table's forward rule) and records
the graph; `.backward()` flattens it to a tape and runs the compiled reverse sweep.
No node holds a closure, so graphs are freed by reference counting alone, never by
the cycle collector.

micrograd's own API works too: `Value(data, _children, _op)` makes a node of a known
op, `_prev` and `_op` describe a node as micrograd does, and `_backward()` is one
node's step of the reverse sweep, read from the op table (a method, not a closure
stored on the node), so the lecture's backprop by hand gives `.backward()`'s numbers.

Beside Value: `bind` (leaves into a flat Store, store.py) and the micrograd op strings.
How a graph of Values pickles is pickling.py; the topological order, order.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, ClassVar, SupportsIndex, Union

import numpy as np

from . import pickling
from .ops import ADD_AN_OP, COMPUTED, FORWARD, TABLE, Op, codes, covers, local_derivatives
from .real import NODES, is_real, real, shown, too_large, why_not
from .store import Store

Number = int | float

Operand = Union["Value", int, float]


class Value:
    """A scalar in a computation graph: `.data`, `.grad`, operators and `.backward()`.

    Domain errors follow NumPy, never raise: `Value(0).log()` has data -inf,
    `Value(-1).sqrt()` nan, `Value(1) / 0` inf. `<`, `<=`, `>`, `>=` compare `.data`;
    `==` and hashing are by identity (a Value is a node, not a number), so Values can
    be set members and dict keys. Values take attributes of your own (`v.name = "w1"`).
    """

    # The fields every node needs are slots. Anything else (a label, the plan backward()
    # keeps on a root, an attribute of your own) goes in the node's __dict__, whose cost
    # _share_the_label_only keeps at 16 bytes a Value (136 in all; benchmarks/engine.py).
    __slots__ = ("_data", "_grad", "op", "_a", "_b", "_store", "_idx", "__dict__")

    label: str = ""  # a name for pictures, tapes and error messages
    _plan: Any = None  # backward()'s flattened graph (backprop.Plan, a layer up), kept once made

    def __init__(self, data: Number, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        """A leaf holding `data`; or, micrograd's way, a node of op `_op` on `_children`.

        `Value(3.0, (a, b), "+")` is the node `a + b`: its gradients come from the op
        table, like those of every other node. `_op` takes micrograd's strings ("+",
        "*", "**2", "tanh", "exp", "ReLU") and the table's names and symbols.
        `Value(2.0, "u")` (text where the operands go) is the leaf labelled "u".
        """
        self._data = data if type(data) is float else real(data, "Value(data)")
        self._grad = 0.0
        self._store: Store | None = None
        self._idx = -1
        if type(_children) is str and not (_op or label):  # Value(2.0, "u"): a label, as before
            _children, label = (), _children  # micrograd's signature came (operands are never text)
        if label:
            self.label = label
        if _children or _op:
            self.op, self._a, self._b = _micrograd_node(self._data, _children, _op)
        else:
            self.op: int = codes.LEAF  # an op code, as an int: Op(v.op) names it
            self._a = None
            self._b = None

    # -- data and grad read through to a Store when the leaf is bound to one --------

    @property
    def data(self) -> float:
        """This node's value (for a bound parameter, read from its Store)."""
        s = self._store
        return self._data if s is None else s.data.item(self._idx)

    @data.setter
    def data(self, x: Number) -> None:
        x = x if type(x) is float else real(x, "Value.data")
        s = self._store
        if s is None:
            self._data = x
        else:
            with s.lock:  # as every writer of the store: a training step in another thread keeps it whole
                s.data[self._idx] = x

    @property
    def grad(self) -> float:
        """∂(output)/∂(this node) from the last backward; leaves accumulate across calls."""
        s = self._store
        return self._grad if s is None else s.grad.item(self._idx)

    @grad.setter
    def grad(self, g: Number) -> None:
        g = g if type(g) is float else real(g, "Value.grad")
        s = self._store
        if s is None:
            self._grad = g
        else:
            with s.lock:
                s.grad[self._idx] = g

    # -- graph structure --------------------------------------------------------------

    @staticmethod
    def _result(op: int, data: float, a: Value | tuple[Value, ...], b: Value | None) -> Value:
        """A new computed node (no validation: data comes from the op table's forward rule)."""
        out = Value.__new__(Value)
        out._data = data
        out._grad = 0.0
        out.op = op
        out._a = a
        out._b = b
        out._store = None
        out._idx = -1
        return out

    @staticmethod
    def _node(op: int, a: Value, b: Value | None) -> Value:
        """op applied to a (and b)."""
        x = a._data if a._store is None else a.data
        if b is None:
            return Value._result(op, FORWARD[op](x), a, None)
        return Value._result(op, FORWARD[op](x, b._data if b._store is None else b.data), a, b)

    @staticmethod
    def _nary(op: int, args: tuple[Value, ...]) -> Value:
        """op applied to any number of operands (SUM, DOT): they are kept as a tuple in _a."""
        data = FORWARD[op](*[x._data if x._store is None else x.data for x in args])
        return Value._result(op, data, args, None)

    @staticmethod
    def sum(terms: Iterable[Operand]) -> Value:
        """x1 + … + xn as one node (Python's sum() makes a chain of n - 1 additions)."""
        args = tuple(_as_value(t, Op.SUM) for t in terms)
        if not args:
            raise ValueError("Value.sum needs at least one term")
        return Value._nary(codes.SUM, args)

    @staticmethod
    def dot(xs: Sequence[Operand], ws: Sequence[Operand]) -> Value:
        """x1·w1 + … + xn·wn as one node: a neuron's weighted sum, without 2n - 1 nodes."""
        xs, ws = list(xs), list(ws)
        if len(xs) != len(ws) or not xs:
            raise ValueError(
                f"Value.dot needs two equally long, non-empty lists; got {len(xs)} and {len(ws)}"
            )
        return Value._nary(codes.DOT, tuple(_as_value(t, Op.DOT) for t in xs + ws))

    @staticmethod
    def const(x: Number) -> Value:
        """A constant node, as made for the plain numbers in `x * 2` or `1 - x`."""
        return Value._result(codes.CONST, x if type(x) is float else real(x, "Value.const(x)"), None, None)

    @property
    def operands(self) -> tuple[Value, ...]:
        """The nodes this one was computed from (empty for leaves and constants)."""
        a = self._a
        if a is None:
            return ()
        if type(a) is tuple:
            return a
        return (a,) if self._b is None else (a, self._b)

    # -- micrograd's view of a node --------------------------------------------------------

    @property
    def _prev(self) -> set[Value]:
        """The operands as a set, micrograd's name: what its trace_graph draws from.

        `x ** 2` has `_prev == {x}`: the exponent is in `_op` ("**2"), as in micrograd.
        """
        if self.op == codes.POWC:
            return {self._a}
        return set(self.operands)

    @property
    def _op(self) -> str:
        """micrograd's string for the op where micrograd has it ("+", "*", "**2", "tanh",
        "exp", "ReLU"), the op table's symbol elsewhere; "" for leaves and constants."""
        if self.op == codes.POWC:
            return "**" + _number_text(self._b._data)
        return MICROGRAD_SYMBOLS.get(self.op, TABLE[self.op].symbol)

    def _backward(self) -> None:
        """One node's step of the reverse sweep: add `.grad` times each local derivative
        (the op table's) to the operands' `.grad`. Leaves and constants have none.

        micrograd's `_backward`, as a method: setting the output's `.grad` to 1, then
        calling this on every node in reverse topological order, is `backward()` by hand
        (the lecture's sweep). Operands accumulate, so start from zeroed gradients.
        """
        operands = self.operands
        if not operands:
            return
        g = self.grad
        for u, d in zip(operands, local_derivatives(self.op, self.data, [u.data for u in operands])):
            u.grad += g * d  # POWC's exponent and a dead relu's operand take nothing

    # -- comparisons: by value, as PyTorch and many micrograd forks compare --------------
    # Equality and hashing stay by identity, so Values work as set members and dict keys.

    def __lt__(self, other: Operand) -> bool:
        y = _compared(other)
        return NotImplemented if y is None else self.data < y

    def __le__(self, other: Operand) -> bool:
        y = _compared(other)
        return NotImplemented if y is None else self.data <= y

    def __gt__(self, other: Operand) -> bool:
        y = _compared(other)
        return NotImplemented if y is None else self.data > y

    def __ge__(self, other: Operand) -> bool:
        y = _compared(other)
        return NotImplemented if y is None else self.data >= y

    def __repr__(self) -> str:
        """`Value('u', data=0.42767811248845455, grad=0.0)`: the numbers in full, as micrograd prints them."""
        name = f"{self.label!r}, " if self.label else ""
        kind = "" if self.op == Op.LEAF else f", op={TABLE[self.op].name}"
        return f"Value({name}data={self.data!r}, grad={self.grad!r}{kind})"

    # -- a Value where a number is expected: its .data, as PyTorch's one-element tensors ------
    # float(v), int(v), round(v, 2) and f"{v:.3f}" give numbers: they leave the graph. So does
    # math.exp(v), which Python computes from float(v) with no say of ours (torch's tensors
    # do the same); NumPy's functions do ask, and np.exp(v) is told to write v.exp().

    def __float__(self) -> float:
        return self.data

    def __int__(self) -> int:
        return int(self.data)  # toward 0, as int(2.7) is 2

    def __round__(self, ndigits: SupportsIndex | None = None) -> float | int:
        return round(self.data, ndigits)

    def __format__(self, spec: str) -> str:
        """f"{loss:.3f}" formats .data; f"{loss}" (no spec) is str(loss), as for any object."""
        return format(self.data, spec) if spec else str(self)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's functions on a Value. Its operators with a NumPy number or array on the left
        (`np.float64(2) * v`) run as the Value's own reflected ones; any other function is refused
        with the method to call instead (np.exp(v): v.exp()), since NumPy cannot build a graph."""
        name = str(getattr(ufunc, "__name__", ufunc))
        dunders = Value._UFUNC_OPERATORS.get(name)
        if dunders is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            x, y = inputs
            return getattr(x, dunders[0])(y) if isinstance(x, Value) else getattr(y, dunders[1])(x)
        call = f"np.{name}" if method == "__call__" else f"np.{name}.{method}"
        instead = Value._UFUNC_INSTEAD.get(name, f"v.{name}()")
        if instead.startswith("v.") and not callable(getattr(Value, instead[2:-2], None)):
            instead = "a Value's methods (v.exp(), v.tanh(), …) and operators"
        raise TypeError(
            f"{call} takes numbers and arrays, not a Value (NumPy cannot record a graph): write {instead} "
            f"to keep the gradient, or {call}(v.data) for the number alone"
        )

    # NumPy's ufuncs that are a Value's operators: (its method, the reflected one)
    _UFUNC_OPERATORS: ClassVar[dict[str, tuple[str, str]]] = {
        "add": ("__add__", "__radd__"),
        "subtract": ("__sub__", "__rsub__"),
        "multiply": ("__mul__", "__rmul__"),
        "true_divide": ("__truediv__", "__rtruediv__"),
        "divide": ("__truediv__", "__rtruediv__"),
        "power": ("__pow__", "__rpow__"),
        "less": ("__lt__", "__gt__"),
        "less_equal": ("__le__", "__ge__"),
        "greater": ("__gt__", "__lt__"),
        "greater_equal": ("__ge__", "__le__"),
    }
    # What to write for NumPy's functions whose name is not the Value's method
    _UFUNC_INSTEAD: ClassVar[dict[str, str]] = {
        "absolute": "v.abs()",
        "fabs": "v.abs()",
        "negative": "-v",
        "positive": "+v",
        "square": "v ** 2",
        "reciprocal": "1 / v",
    }

    # -- operators ----------------------------------------------------------------------

    def _binary(self, op: Op, other: Operand, reflected: bool = False) -> Value:
        if not isinstance(other, Value):
            other = Value.const(_as_operand(other, op, self, reflected))
        return Value._node(op, other, self) if reflected else Value._node(op, self, other)

    def __add__(self, other: Operand) -> Value:
        return self._binary(codes.ADD, other)

    def __radd__(self, other: Operand) -> Value:
        return self._binary(codes.ADD, other, reflected=True)

    def __sub__(self, other: Operand) -> Value:
        return self._binary(codes.SUB, other)

    def __rsub__(self, other: Operand) -> Value:
        return self._binary(codes.SUB, other, reflected=True)

    def __mul__(self, other: Operand) -> Value:
        return self._binary(codes.MUL, other)

    def __rmul__(self, other: Operand) -> Value:
        return self._binary(codes.MUL, other, reflected=True)

    def __truediv__(self, other: Operand) -> Value:
        return self._binary(codes.DIV, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return self._binary(codes.DIV, other, reflected=True)

    def __pow__(self, other: Operand) -> Value:
        """x ** y: a number exponent gives POWC (gradient to x only), a Value gives POW."""
        if isinstance(other, Value):
            return Value._node(codes.POW, self, other)
        return Value._node(codes.POWC, self, Value.const(_as_operand(other, Op.POWC, self, False)))

    def __rpow__(self, other: Operand) -> Value:
        return self._binary(codes.POW, other, reflected=True)

    def __neg__(self) -> Value:
        return Value._node(codes.NEG, self, None)

    def __pos__(self) -> Value:
        return self

    def exp(self) -> Value:
        return Value._node(codes.EXP, self, None)

    def log(self) -> Value:
        """Natural log; -inf at 0 and nan below, as NumPy gives."""
        return Value._node(codes.LOG, self, None)

    def tanh(self) -> Value:
        return Value._node(codes.TANH, self, None)

    def sigmoid(self) -> Value:
        return Value._node(codes.SIGMOID, self, None)

    def relu(self) -> Value:
        return Value._node(codes.RELU, self, None)

    def abs(self) -> Value:
        return Value._node(codes.ABS, self, None)

    __abs__ = abs

    def sqrt(self) -> Value:
        """Square root; nan below 0, as NumPy gives."""
        return Value._node(codes.SQRT, self, None)

    def sin(self) -> Value:
        return Value._node(codes.SIN, self, None)

    def cos(self) -> Value:
        return Value._node(codes.COS, self, None)

    def step(self) -> Value:
        """1 where x > 0, else 0 (at 0 and nan too): relu's derivative, as a node (see modes.py)."""
        return Value._node(codes.STEP, self, None)

    def sign(self) -> Value:
        """1, 0 or -1 as x > 0, = 0, < 0 (nan at nan): abs's derivative, as a node."""
        return Value._node(codes.SIGN, self, None)

    # -- gradients ------------------------------------------------------------------------

    def backward(self, engine: str | None = None, check: bool = False) -> None:
        """Fill `.grad` of every node of this graph with ∂self/∂node.

        Intermediate nodes hold this call's gradient; leaves accumulate across calls
        (zero them between steps), as in micrograd and PyTorch. `engine="python"`
        runs the pure-Python reference sweep, `"numba"` the compiled one; the default
        runs numba's once it is compiled on this machine, Python's until then (jit.py).
        `check=True` raises FloatingPointError at the first nan or inf, naming the
        op that made it and the nearest labelled Value.
        """
        # The one import that runs up the layers (micrograd's API: a Value knows how to
        # backpropagate): the sweeps sit above the lesson's core (backprop.py runs the numba
        # kernels or reference.py's loops), so the import is made here, at the call.
        from ..backprop import backward

        backward(self, engine, check)

    # -- pickling and copying: a graph travels as its nodes in topological order -----------

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        """How pickle and copy.deepcopy take a Value: at any depth, without recursion.

        A leaf, a constant, or a node whose graph is already being sent goes as one
        record that refers to its operands. Any other node sends the graph below it
        first (`Ahead`: its nodes in topological order, each as such a record), so every
        operand is pickled or copied before the node that reads it: the pickler's memo
        (deepcopy's) then has each one, nothing recurses, and a node shared by several
        others, or by several Values pickled together, stays one node.
        """
        return pickling.reduce(self)

    def __copy__(self) -> Value:
        """copy.copy: a new node of the same op on the same operands, with this one's data,
        grad, store and attributes."""
        rebuild, fields = pickling.record(self)
        return rebuild(*fields)


def _share_the_label_only() -> None:
    """Keep a Value's attribute array at its smallest, whatever a program sets first.

    CPython (3.11, 3.12) gives each object of a class with a __dict__ a small array
    for the attribute names its objects share, one place per name set while the class
    is new, plus one spare that each new object takes away until one is left. Left
    alone, a label and a few attributes set on a program's first Values would cost
    every later Value 8 bytes a name. Making objects until the spare is down to one,
    then setting a label, makes `label` the one shared name: every Value's array is 16
    bytes, a label costs nothing more, and any other name (backward's plan on a root,
    an attribute of your own) goes in a dict of its own on the Values that have it.
    tests/test_micrograd_compat.py holds the memory per Value in a fresh process.
    """
    for _ in range(128):  # more than the spare places a new class starts with
        Value.__new__(Value)
    Value.__new__(Value).label = ""


_share_the_label_only()
NODES.append(Value)  # real.py words its errors for a Value given as a number (it sits below this file)

# How each op is built from Values: its operator, or the method named as in the op table (exp,
# tanh, …). The checklist's entry for this file (ops.PLACES).
OPERATORS = {
    codes.ADD: "__add__", codes.SUB: "__sub__", codes.MUL: "__mul__", codes.DIV: "__truediv__",
    codes.POW: "__pow__", codes.POWC: "__pow__", codes.NEG: "__neg__",
}  # fmt: skip
covers("core/engine.py OPERATORS", [k for k in COMPUTED if hasattr(Value, OPERATORS.get(k, TABLE[k].name))])


def bind(values: Iterable[Value]) -> tuple[Store, np.ndarray]:
    """Put `values` (leaves) in one store and return it with their indices.

    If they already share a store it is reused; otherwise a new store is made and
    each value moves in, carrying its data and grad (the stores it left are bumped).
    From then on `.data` and `.grad` read and write through to the store (see store.py).
    """
    values = list(dict.fromkeys(values))  # unique, in order
    stores = {id(v._store): v._store for v in values}
    if len(stores) == 1 and values and values[0]._store is not None:
        store = values[0]._store
        return store, np.fromiter((v._idx for v in values), dtype=np.int64, count=len(values))
    store = Store(len(values))
    for i, v in enumerate(values):
        store.data[i] = v.data
        store.grad[i] = v.grad
        old = v._store
        if old is not None:
            old.version += 1
        v._store = store
        v._idx = i
    return store, np.arange(len(values), dtype=np.int64)


def _as_value(x: Operand, op: Op) -> Value:
    """An operand of Value.sum or Value.dot: a Value, or a number made a constant (see real.py)."""
    if isinstance(x, Value):
        return x
    name = TABLE[op].name
    if not is_real(x):
        raise TypeError(f"{name}: {shown(x)} ({type(x).__name__}) is not a number or a Value{why_not(x)}")
    return Value.const(real(x, f"{name}'s operand"))


def _as_operand(other: object, op: Op, value: Value, reflected: bool) -> float:
    """The number on the other side of an operator, by real.py's rule; an error shows the expression."""
    if type(other) is float:
        return other
    if is_real(other):
        try:
            return real(other, "")
        except ValueError:  # too large: said again below, with the expression
            pass
    sym = TABLE[op].symbol
    expr = f"{shown(other)} {sym} Value" if reflected else f"Value {sym} {shown(other)}"
    if is_real(other):
        raise too_large(other, f"the number in {expr}")
    raise TypeError(
        f"unsupported operand in {expr}: {type(other).__name__} is not a number or a Value{why_not(other)}"
    )


def _compared(other: object) -> float | int | None:
    """The number a Value is compared with, or None (Python then says the types don't compare).

    An int is compared as it is (Python compares floats with ints of any size exactly).
    """
    if isinstance(other, Value):
        return other.data
    if type(other) is int:
        return other
    if not is_real(other):
        return None
    return real(other, "the number compared with a Value")


# -- micrograd's op strings ------------------------------------------------------------------
#
# `_op` gives micrograd's string where micrograd has the op, and where it differs from
# the table's symbol: relu is "ReLU", and x ** c carries its exponent ("**2", see
# Value._op). `Value(data, _children, _op)` takes those, and the table's names and
# symbols ("-" is sub with two operands, neg with one).

MICROGRAD_SYMBOLS: dict[int, str] = {codes.RELU: "ReLU"}

# (string, number of operands; -1 for any) -> op code
_OPS_BY_STRING: dict[tuple[str, int], int] = {
    (text, info.arity): int(info.op)
    for info in TABLE
    if info.arity != 0 and info.op != Op.POWC  # POWC is written with its exponent: "**2"
    for text in (info.name, info.symbol, MICROGRAD_SYMBOLS.get(int(info.op), info.name))
}
_ORDERED = {codes.SUB, codes.DIV, codes.POW, codes.DOT}  # ops whose operands' order matters


def _known_ops() -> str:
    """The op strings Value(data, _children, _op) takes, one group per op: "'+' 'add', ..."."""
    groups = []
    for info in TABLE:
        if info.op == Op.POWC:
            groups.append("'**2' (x ** a number: micrograd's)")
        elif info.arity != 0:
            texts = dict.fromkeys((MICROGRAD_SYMBOLS.get(int(info.op), info.symbol), info.symbol, info.name))
            groups.append(" ".join(map(repr, texts)) + {1: "", 2: "", -1: " (any number)"}[info.arity])
    return ", ".join(groups)


def _number_text(c: float) -> str:
    """An exponent as micrograd's f"**{c}" shows the ints people write: 2, not 2.0."""
    return str(int(c)) if c.is_integer() and abs(c) < 2**53 else repr(c)


def _micrograd_node(data: float, children: Iterable[Value], op_text: str) -> tuple[int, object, object]:
    """The (op, _a, _b) of `Value(data, children, op_text)`, checked against the op table."""
    call = f"Value({data!r}, _children, _op={op_text!r})"
    if isinstance(children, (str, bytes)):
        raise TypeError(
            f"{call}: _children is {children!r}, text, not the operands of a computed node "
            f"(a tuple of Values); to name a Value, pass label={children!r}"
        )
    if not isinstance(op_text, str):
        raise TypeError(f"{call}: _op must be a string like '+' or 'tanh', got {type(op_text).__name__}")
    try:
        operands = tuple(children)
    except TypeError:
        raise TypeError(
            f"{call}: _children must be a tuple of Values, got {type(children).__name__}"
        ) from None
    for k, u in enumerate(operands):
        if not isinstance(u, Value):
            raise TypeError(
                f"{call}: _children[{k}] is {u!r} ({type(u).__name__}), not a Value; "
                f"wrap numbers as Value(...)"
            )
    n = len(operands)
    if not op_text or not operands:
        raise ValueError(
            f"{call}: a computed node needs both its operands (_children) and its op (_op); "
            f"a leaf is just Value(data)"
        )
    exponent = None
    if op_text.startswith("**") and op_text != "**":  # micrograd's x ** c: "**2", "**-1", "**0.5"
        try:
            exponent = float(op_text[2:])
        except ValueError:
            raise ValueError(f"{call}: {op_text[2:]!r} in {op_text!r} is not a number") from None
        op = codes.POWC
        if n != 1:
            raise ValueError(f"{call}: {op_text!r} takes one operand (the base), got {n}")
    else:
        op = _OPS_BY_STRING.get((op_text, n), _OPS_BY_STRING.get((op_text, -1)))
        if op is None:
            if not any(text == op_text for text, _ in _OPS_BY_STRING):
                raise ValueError(
                    f"{call}: unknown op {op_text!r}. microgradx takes every gradient from its op "
                    f"table, which knows {_known_ops()}. {ADD_AN_OP}"
                )
            arities = sorted({a for text, a in _OPS_BY_STRING if text == op_text})
            raise ValueError(f"{call}: {op_text!r} takes {' or '.join(map(str, arities))} operands, got {n}")
        if op == codes.DOT and n % 2:
            raise ValueError(f"{call}: a dot takes x1 … xn, w1 … wn: an even number of operands, got {n}")
        if op in _ORDERED and n > 1 and isinstance(children, AbstractSet):
            raise TypeError(
                f"{call}: _children is a {type(children).__name__}, which has no order, and "
                f"{op_text!r} needs its operands in order: pass a tuple"
            )
    args = [u._data if u._store is None else u.data for u in operands]
    if exponent is not None:
        args.append(exponent)
    expected = FORWARD[op](*args)
    if not (
        math.isclose(data, expected, rel_tol=1e-9, abs_tol=1e-12) or (data != data and expected != expected)
    ):
        raise ValueError(
            f"{call}: {op_text!r} of the operands is {expected!r}, not {data!r}. A node made with "
            f"_op is that op, its data and gradients the op table's: check the op and the "
            f"order of _children"
        )
    if op == codes.POWC:
        return op, operands[0], Value.const(exponent)
    if TABLE[op].arity == -1:
        return op, operands, None
    return op, operands[0], operands[1] if n == 2 else None
