"""`Value`: a scalar node of a computation graph, micrograd's API without closures.

Each Value is a small `__slots__` object holding its op code and operands. Building
`(u + v) * w` computes `.data` at once (from the op table's forward rule) and records
the graph; `.backward()` flattens it to a tape and runs the compiled reverse sweep.
No node holds a closure, so graphs are freed by reference counting alone, never by
the cycle collector.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Union

from .ops import FORWARD, TABLE, Op, codes

if TYPE_CHECKING:
    from .store import Store

Number = int | float

Operand = Union["Value", int, float]


def _as_float(x: object, what: str) -> float:
    """Accept ints, floats and NumPy scalars; name anything else in a TypeError."""
    if type(x) is float:
        return x
    if _is_number(x):
        try:
            return float(x)  # type: ignore[arg-type]
        except TypeError:
            pass
    hint = ": use the Value itself, or its number, .data" if isinstance(x, Value) else ""
    raise TypeError(f"{what} must be a real number, got {x!r} ({type(x).__name__}){hint}")


class Value:
    """A scalar in a computation graph: `.data`, `.grad`, operators and `.backward()`.

    Domain errors follow NumPy, never raise: `Value(0).log()` has data -inf,
    `Value(-1).sqrt()` nan, `Value(1) / 0` inf.
    """

    __slots__ = ("_data", "_grad", "op", "_a", "_b", "label", "_store", "_idx", "_plan")
    __array_ufunc__ = None  # NumPy scalars on the left defer to our reflected operators

    def __init__(self, data: Number, label: str = "") -> None:
        self._data = data if type(data) is float else _as_float(data, "Value(data)")
        self._grad = 0.0
        self.op: int = codes.LEAF  # an op code, as an int: Op(v.op) names it
        self._a = None
        self._b = None
        self.label = label
        self._store: Store | None = None
        self._idx = -1
        self._plan = None  # backward()'s flattened graph, kept once made (see backprop.Plan)

    # -- data and grad read through to a Store when the leaf is bound to one --------

    @property
    def data(self) -> float:
        """This node's value (for a bound parameter, read from its Store)."""
        s = self._store
        return self._data if s is None else s.data.item(self._idx)

    @data.setter
    def data(self, x: Number) -> None:
        x = x if type(x) is float else _as_float(x, "Value.data")
        s = self._store
        if s is None:
            self._data = x
        else:
            s.data[self._idx] = x

    @property
    def grad(self) -> float:
        """∂(output)/∂(this node) from the last backward; leaves accumulate across calls."""
        s = self._store
        return self._grad if s is None else s.grad.item(self._idx)

    @grad.setter
    def grad(self, g: Number) -> None:
        g = g if type(g) is float else _as_float(g, "Value.grad")
        s = self._store
        if s is None:
            self._grad = g
        else:
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
        out.label = ""
        out._store = None
        out._idx = -1
        out._plan = None
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
        v = Value(_as_float(x, "operand"))
        v.op = codes.CONST
        return v

    @property
    def operands(self) -> tuple[Value, ...]:
        """The nodes this one was computed from (empty for leaves and constants)."""
        a = self._a
        if a is None:
            return ()
        if type(a) is tuple:
            return a
        return (a,) if self._b is None else (a, self._b)

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the operands, kept for tools written against it."""
        return set(self.operands)

    @property
    def _op(self) -> str:
        """micrograd's name for the op's symbol."""
        return TABLE[self.op].symbol

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        kind = "" if self.op == Op.LEAF else f", op={TABLE[self.op].name}"
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g}{kind})"

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
        from .backprop import backward

        backward(self, engine, check)


def _as_value(x: Operand, op: Op) -> Value:
    if isinstance(x, Value):
        return x
    if not _is_number(x):
        raise TypeError(f"{TABLE[op].name}: {x!r} ({type(x).__name__}) is not a number or a Value")
    return Value.const(_as_float(x, "operand"))


def _as_operand(other: object, op: Op, value: Value, reflected: bool) -> float:
    if isinstance(other, (str, bytes)) or other is None or not _is_number(other):
        sym = TABLE[op].symbol
        expr = f"{other!r} {sym} Value" if reflected else f"Value {sym} {other!r}"
        raise TypeError(f"unsupported operand in {expr}: {type(other).__name__} is not a number or a Value")
    return _as_float(other, "operand")


def _is_number(x: object) -> bool:
    """A real number: Python's, or a NumPy scalar (a 0-d array counts too)."""
    return isinstance(x, Real) or (hasattr(x, "dtype") and getattr(x, "shape", None) == ())
