"""A safe parser for the expressions given on the command line, like "(u + v) * w".

The text is parsed with `ast` and walked against a whitelist: numbers, names bound
on the command line, + - * / ** and unary minus, and the op methods, called as
functions (`tanh(u)`) or as methods (`(u + v).tanh()`), and the constants e and pi
(unless the command line binds those names). Everything else — attribute
access, other calls, imports, lambdas, comprehensions, subscripts, strings, dunder
names, huge exponents — is refused with a ValueError naming it. Nothing is ever
passed to eval or exec, and size limits keep any input quick to refuse. A misspelt
name or function gets a "did you mean" from difflib.

`printable` makes command-line text safe to echo on a terminal; `whole` and `finite` read an
option's number, refusing one out of range with a message argparse prefixes with the option's name.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import math
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Mapping

from ..core.engine import Value
from ..core.ops import FORWARD, UNARY, Op, covers
from ..core.real import LARGEST, real

FUNCTIONS = {
    "exp": Op.EXP,
    "log": Op.LOG,
    "tanh": Op.TANH,
    "sigmoid": Op.SIGMOID,
    "relu": Op.RELU,
    "abs": Op.ABS,
    "sqrt": Op.SQRT,
    "sin": Op.SIN,
    "cos": Op.COS,
    "step": Op.STEP,
    "sign": Op.SIGN,
}
covers("app/expr.py FUNCTIONS", FUNCTIONS.values(), [k for k in UNARY if k != Op.NEG])  # -x is NEG
CONSTANTS = {"e": math.e, "pi": math.pi}
BINARY = {ast.Add: Op.ADD, ast.Sub: Op.SUB, ast.Mult: Op.MUL, ast.Div: Op.DIV, ast.Pow: Op.POW}
MAX_CHARS = 1000
MAX_NODES = 400  # syntax-tree nodes
MAX_DEPTH = 40  # nesting of operations
MAX_EXPONENT = 100.0  # |c| in x ** c with c a number

# What a refused node is called in the error message.
REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts (indexing)",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "strings",
    ast.NamedExpr: "assignment (:=)",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if-else",
    ast.Starred: "* unpacking",
    ast.Await: "await",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
}
OPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}
ALLOWED = "numbers, bound names, e, pi, + - * / **, and " + ", ".join(FUNCTIONS)
# Characters that reorder the text around them on a terminal (Unicode's Bidi_Control).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

Number = float
Result = Value | Number


def suggest(name: str, known: Iterable[str]) -> str:
    """`"did you mean tanh? "` for a name close to one of `known` (ignoring case), else ""."""
    by_folded = {k.casefold(): k for k in sorted(known, reverse=True)}
    close = difflib.get_close_matches(name.casefold(), by_folded, n=1)
    return f"did you mean {by_folded[close[0]]}? " if close else ""


def together(given: Mapping[str, bool], message: str) -> None:
    """ValueError if any option of `given` is there (True): `message` with their names in its {}.

    For options that do not go together, which would otherwise be silently left out:
    `together({"--hessian": args.hessian}, "--matrix explains a small MLP: leave out {}")`.
    """
    named = [name for name, there in given.items() if there]
    if named:
        names = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
        raise ValueError(message.format(names))


def printable(text: str) -> str:
    """`text` as it can be echoed on a terminal: every control character written as its escape.

    A comment or a file name from the command line could otherwise carry terminal escape
    sequences (colours, cursor moves, a cleared screen), a carriage return that overwrites
    the line, or a bidirectional override that shows the text in another order. Line breaks
    and tabs are layout, and kept.
    """

    def shown(c: str) -> str:
        hidden = c not in "\n\t" and (unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS)
        return repr(c)[1:-1] if hidden else c

    return "".join(map(shown, text))


def whole(low: int) -> Callable[[str], int]:
    """An argparse type: the option's value as an int >= low (`--steps 0` says "argument --steps:
    must be a whole number >= 1, got '0'", before the command does anything)."""

    def read(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text!r}")
        return n

    return read


def finite(low: float) -> Callable[[str], float]:
    """An argparse type: the option's value as a finite float >= low (not nan, inf or 1e400)."""

    def read(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = math.nan
        if not low <= x < math.inf:  # nan fails it too
            raise argparse.ArgumentTypeError(f"must be a finite number >= {low:g}, got {text!r}")
        return x

    return read


def parse_bindings(items: Iterable[str]) -> dict[str, float]:
    """`["u=2", "v=3"]` → `{"u": 2.0, "v": 3.0}`, refusing bad names and numbers.

    A number too large for a float64 (`w=1e400`, which float() reads as inf) is refused, as
    `Value(10**400)` is; inf and nan, written as such, are taken (explain says where they go).
    """
    out: dict[str, float] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq:
            raise ValueError(f"expected NAME=VALUE, like u=2, got {item!r}")
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"bad name {name!r} in {item!r}: use letters, digits and _, not starting with _")
        if name in FUNCTIONS:
            raise ValueError(f"{name!r} is a function name; call the variable something else")
        if name in out:
            raise ValueError(f"{name} is bound twice")
        try:
            out[name] = float(text)
        except ValueError:
            raise ValueError(f"{name}={text!r}: {text!r} is not a number") from None
        if math.isinf(out[name]) and text.strip().lstrip("+-").lower() not in ("inf", "infinity"):
            raise ValueError(
                f"{name}={text.strip()}: too large for a float64 (at most ±{LARGEST:.2g}); "
                f"write inf if infinity is what you mean"
            )
    return out


def parse(text: str, bindings: Mapping[str, float | Value]) -> Value:
    """Build the graph of `text`, with names taken from `bindings`.

    Numbers in `bindings` become leaf Values labelled with their names (so pictures
    show u, v, w); Values are used as they are. Raises ValueError for anything outside
    the whitelist.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ValueError(f"expression is {len(text):,} characters long; the limit is {MAX_CHARS:,}")
    try:
        with warnings.catch_warnings():
            # Python warns of dubious literals (`1if`, "\\d") on stderr as it parses; here
            # they are errors like any other, said once, in the error message.
            warnings.simplefilter("error")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ValueError(f"not an expression: {e.msg} in {shown!r}") from None
    except (RecursionError, MemoryError):
        raise ValueError("expression is nested too deeply") from None
    size = sum(1 for _ in ast.walk(tree))
    if size > MAX_NODES:
        raise ValueError(f"expression has {size} parts; the limit is {MAX_NODES}")
    leaves = {
        name: v if isinstance(v, Value) else Value(real(v, f"the value bound to {name}"), label=name)
        for name, v in bindings.items()
    }
    result = Builder(leaves).build(tree.body, 0)
    if not isinstance(result, Value):
        raise ValueError(f"{text!r} uses no bound names, so it has no gradient to show: bind some, like u=2")
    return result


class Builder:
    """Walks a syntax tree, building Values for the whitelisted nodes and refusing the rest."""

    def __init__(self, leaves: Mapping[str, Value]) -> None:
        self.leaves = leaves

    def build(self, node: ast.AST, depth: int) -> Result:
        if depth > MAX_DEPTH:
            raise ValueError(f"expression is nested more than {MAX_DEPTH} deep")
        depth += 1
        if isinstance(node, ast.Constant):
            return number(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = self.build(node.operand, depth)
            if isinstance(node.op, ast.UAdd):
                return x
            return -x if isinstance(x, Value) else FORWARD[Op.NEG](x)
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
            return binary(BINARY[type(node.op)], self.build(node.left, depth), self.build(node.right, depth))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise ValueError(f"refused {describe(node)}: use only {ALLOWED}")

    def name(self, name: str) -> Result:
        if name.startswith("__"):
            raise ValueError(f"refused dunder name {name}")
        if name in FUNCTIONS:
            raise ValueError(f"{name} is a function: call it, like {name}(u)")
        if name in self.leaves:
            return self.leaves[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        hint = suggest(name, [*self.leaves, *CONSTANTS])
        bind = "or bind" if hint else "bind"
        raise ValueError(f"unknown name {name!r}: {hint}{bind} it after the expression, like {name}=1.5")

    def call(self, node: ast.Call, depth: int) -> Result:
        """`tanh(u)` or `(u + v).tanh()`: one of FUNCTIONS, one operand, no keywords."""
        func = node.func
        if isinstance(func, ast.Name):
            fname, args = func.id, node.args
        elif isinstance(func, ast.Attribute):
            fname, args = func.attr, [func.value, *node.args]
        else:  # 2(u) or (u + v)(w): a multiplication without its *
            shown = ast.unparse(func)
            shown = shown if len(shown) <= 30 else shown[:27] + "..."
            raise ValueError(
                f"refused call of {shown!r}: only functions are called; to multiply, write *, like 2 * u"
            )
        if fname.startswith("__"):
            raise ValueError(f"refused dunder name {fname}")
        if fname not in FUNCTIONS:
            hint = suggest(fname, FUNCTIONS)
            raise ValueError(f"refused call of {fname}: {hint}only {', '.join(FUNCTIONS)} may be called")
        if node.keywords or len(args) != 1:
            form = f"{fname}(u)" if isinstance(func, ast.Name) else f"u.{fname}()"
            raise ValueError(f"{fname} takes exactly one operand, written {form}")
        x = self.build(args[0], depth)
        op = FUNCTIONS[fname]
        return getattr(x, fname)() if isinstance(x, Value) else FORWARD[op](x)


def number(value: object) -> float:
    """A literal: ints and floats only (not bools, complex numbers or strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "strings" if isinstance(value, (str, bytes)) else f"{type(value).__name__} literals"
        raise ValueError(f"refused {kind}: use only {ALLOWED}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"number {str(value)[:20]}… is too large") from None


def binary(op: Op, x: Result, y: Result) -> Result:
    """x op y; plain numbers are folded by the op table's rule (NumPy semantics, never raising)."""
    if op == Op.POW and not isinstance(y, Value) and not abs(y) <= MAX_EXPONENT:
        raise ValueError(f"exponent {y:g} is too large: the limit is ±{MAX_EXPONENT:g}")
    if isinstance(x, Value) or isinstance(y, Value):
        if op == Op.ADD:
            return x + y
        if op == Op.SUB:
            return x - y
        if op == Op.MUL:
            return x * y
        if op == Op.DIV:
            return x / y
        return x**y
    result = FORWARD[op](x, y)
    return result if not isinstance(result, complex) else math.nan


def describe(node: ast.AST) -> str:
    """What a refused piece of syntax is, for the error message."""
    if isinstance(node, ast.Attribute):
        return f"attribute access .{node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return f"call of {node.func.id}"
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in OPERATORS:
        return f"operator {OPERATORS[type(node.op)]}"
    for kind, name in REFUSED.items():
        if isinstance(node, kind):
            return name
    return type(node).__name__
