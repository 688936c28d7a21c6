"""What a number is, wherever microgradx takes one: one rule, and one way to refuse.

A number is a real number that fits in a float64: Python's int and float (and any
other `numbers.Real`, like `Fraction`), NumPy's integer, floating and bool scalars, and
0-d arrays holding one of those. A bool is 0 or 1, as Python and NumPy count it (a
batch of bool features is a batch of numbers). Not numbers, however Python or NumPy
would convert them:

- a complex number (`np.complex128(1+2j)`): float() would drop the imaginary part with
  only a ComplexWarning;
- text (`'3'`, `np.str_('3')`, `np.array('2.5')`): NumPy parses it, Python does not;
- None (`np.array([1.0, None])` becomes nan when NumPy converts it);
- an int or a fraction too large for a float64 (`10**400`), which float() refuses with
  an OverflowError that names no value.

`real` takes one number (`Value(data)`, operands of `+ - * / **`, comparisons,
`Value.data` and `.grad`, optimizer settings, fit's learning rates); `real_array` a
batch of them (a compiled graph's `forward(x)`, a classifier's `X`), element by
element where the array's dtype does not settle it. Both raise TypeError for what is
not a number and ValueError for a number too large, naming the value, where it was
given, and the fix.
"""

from __future__ import annotations

import math
from numbers import Complex, Real

import numpy as np

# Element types whose conversion to float64 cannot go wrong (but for an int's size, which
# NumPy reports as OverflowError): a batch made only of these converts in one NumPy call.
PLAIN = frozenset({float, int, bool, np.float64, np.float32, np.float16, np.int64, np.int32, np.int16})
PLAIN |= {np.int8, np.uint64, np.uint32, np.uint16, np.uint8, np.bool_}
LARGEST = float(np.finfo(np.float64).max)
# What holds a number but is not one: engine.py adds Value when it defines it (this module sits
# below engine.py, so it names the type without importing it).
NODES: list[type] = []
IN_ARRAY = ": a Value, where an array of numbers belongs; give its number, .data"
# What an array's dtype kind (numpy.dtype.kind) says of its elements, for the kinds that are not numbers.
NOT_NUMBERS = {
    "c": "complex numbers: microgradx computes with real numbers (give x.real if the imaginary parts are 0)",
    "U": "text: convert it yourself, x.astype(float), if it holds numbers",
    "S": "bytes: convert them yourself, x.astype(float), if they hold numbers",
    "M": "dates: give numbers (a time as seconds, for example)",
    "m": "time spans: give numbers (seconds, for example)",
    "V": "records: give an array of numbers",
}


def real(x: object, what: str) -> float:
    """x as a float, if it is a real number that fits in a float64 (see the module's rule).

    `what` names where x was given, for the error: "Value(data)", "lr", ...
    Raises TypeError for anything else, ValueError for a number too large.
    """
    if type(x) is float:
        return x
    if type(x) is int:
        try:
            return float(x)
        except OverflowError:
            raise too_large(x, what) from None
    number = number_in(x)
    if number is None:
        raise TypeError(f"{what} must be a real number, got {shown(x)} ({type(x).__name__}){why_not(x)}")
    return fitted(number, x, what)


def is_real(x: object) -> bool:
    """Whether x is a real number by the module's rule (whatever its size)."""
    return type(x) is float or type(x) is int or number_in(x) is not None


def number_in(x: object) -> Real | None:
    """The real number x is or holds (a 0-d array's element), or None if it is not one."""
    if isinstance(x, Real):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.generic):  # NumPy's other scalars: text, complex, dates
        return None
    shape = getattr(x, "shape", None)
    if shape == () and hasattr(x, "dtype"):  # a 0-d array: NumPy's, or another library's (torch, JAX)
        try:
            element = np.asarray(x)[()]  # a NumPy scalar, or the object a 0-d object array holds
        except Exception:  # an array that NumPy cannot read is not a number we can take
            return None
        return None if element is x else number_in(element)
    return None


def fitted(number: Real, given: object, what: str) -> float:
    """A real number as a float, refusing one beyond float64's range (which float() makes an
    OverflowError for ints and fractions, and inf for NumPy's long double)."""
    try:
        y = float(number)
    except OverflowError:
        raise too_large(given, what) from None
    if math.isinf(y) and isinstance(number, np.floating) and np.isfinite(number):
        raise too_large(given, what)
    return y


def too_large(x: object, what: str) -> ValueError:
    """The error for a real number beyond float64's range (to raise), naming it and `what`."""
    return ValueError(
        f"{what} is {shown(x)}, too large for a float64 (whose largest is about {LARGEST:.3g}): "
        f"scale it down, or give inf if you mean an infinite value"
    )


def why_not(x: object) -> str:
    """Why x is not a number, and what to give instead, as the end of an error message."""
    if isinstance(x, tuple(NODES)):
        return ": use the Value itself, or its number, .data"
    if isinstance(x, (str, bytes)):
        return ": text, not a number; convert it yourself, float(x), if it holds one"
    if isinstance(x, (Complex, np.complexfloating)):
        return ": a complex number; microgradx computes with real numbers (x.real if its imaginary part is 0)"
    if x is None:
        return ": nothing; give a number (fill a missing value, or drop its row)"
    shape = getattr(x, "shape", None)
    if shape is not None and hasattr(x, "dtype") and not isinstance(x, np.generic):
        if shape == ():  # a 0-d array: what it holds says why
            try:
                element = np.asarray(x)[()]
            except Exception:
                return ": an array NumPy cannot read; give an int or a float"
            return why_not(element) if element is not x else ": give an int or a float"
        return f": an array of shape {tuple(shape)}, not one number; take one with x.item() or x[i]"
    if isinstance(x, (list, tuple)):
        return ": a sequence where one number belongs"
    return ": give an int or a float (float(x) converts most kinds of numbers)"


def shown(x: object, limit: int = 60) -> str:
    """x as an error message names it: its repr, cut to `limit` characters; an int too long to
    print (Python refuses to print one of more than 4300 digits) by its size."""
    if type(x) is int and x.bit_length() > 200:
        try:
            text = str(x)
        except ValueError:  # more digits than Python prints
            return f"an int of about {int(x.bit_length() * math.log10(2)) + 1} digits"
        return f"{text[:8]}… (an int of {len(text.lstrip('-'))} digits)"
    try:
        text = repr(x)
    except Exception:  # an object whose repr fails is still named somehow
        text = object.__repr__(x)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def real_array(x: object, what: str, name: str = "x") -> np.ndarray:
    """x as a float64 array of the same shape, if every element is a real number by the rule.

    `what` names the call ("forward(x)"), `name` the argument; an error names the first
    element that is not a number by its index (x[2, 0]). An array of integers or floats
    converts in one NumPy call; lists, and arrays of Python objects, are checked element by
    element unless they hold only plain ints and floats.
    """
    arr = x if isinstance(x, np.ndarray) else None
    if arr is not None and arr.dtype.kind in "iufb":
        out = arr.astype(np.float64, copy=False)
        if arr.dtype.itemsize > 8 and np.isinf(out).any():  # a long double beyond float64's range
            k = int(np.flatnonzero(np.isinf(out.ravel()) & np.isfinite(arr.ravel()))[0])
            raise too_large(arr.ravel()[k], f"{what}: {name}{index(k, arr.shape)}")
        return out
    if arr is None:
        try:
            arr = np.array(x, dtype=object)  # Python's objects as they are: NumPy converts none of them
        except ValueError as e:  # rows of different lengths, at depths NumPy cannot keep as objects
            raise TypeError(f"{what}: {name} must hold real numbers, in rows of one length: {e}") from None
    kind = arr.dtype.kind
    if kind != "O":
        kinds = NOT_NUMBERS.get(kind, f"{arr.dtype}: give numbers")
        raise TypeError(f"{what}: {name} must hold real numbers; it is an array of {kinds}")
    flat = arr.ravel()
    if set(map(type, flat)) <= PLAIN:
        try:
            return flat.astype(np.float64).reshape(arr.shape)
        except OverflowError:  # an int beyond float64's range: found and named below
            pass
    out = np.empty(flat.size)
    for k, element in enumerate(flat):
        where = f"{name}{index(k, arr.shape)}"
        number = number_in(element)
        if number is None and np.ndim(element) > 0 and arr.ndim > 0:  # NumPy kept ragged rows as objects
            raise TypeError(
                f"{what}: {name} must hold real numbers, in rows of one length; "
                f"{uneven(flat, arr.shape, name)}"
            )
        if number is None:
            why = IN_ARRAY if isinstance(element, tuple(NODES)) else why_not(element)
            raise TypeError(
                f"{what}: {name} must hold real numbers; {where} is {shown(element)} "
                f"({type(element).__name__}){why}"
            )
        out[k] = fitted(number, element, f"{what}: {where}")
    return out.reshape(arr.shape)


def uneven(flat: np.ndarray, shape: tuple[int, ...], name: str) -> str:
    """Where rows of different lengths differ (flat: an object array's elements, some of them
    sequences NumPy could not stack): the first element unlike the first one, beside it,
    "x[0] has 2 entries, x[1] has 1"."""

    def size(e: object) -> str:
        if np.ndim(e) == 0:
            return "is one number"
        return f"has {len(e)} {'entry' if len(e) == 1 else 'entries'}"

    k = next((k for k in range(1, flat.size) if size(flat[k]) != size(flat[0])), 0)
    return f"{name}{index(0, shape)} {size(flat[0])}, {name}{index(k, shape)} {size(flat[k])}"


def first_nonfinite(arr: np.ndarray) -> tuple[int, int]:
    """Where arr's first nan or ±inf is (its flat index, C order) and how many it holds: (-1, 0)
    when every entry is finite. The one search behind the errors that name the first bad number
    (index() writes the flat index as Python indexes it)."""
    bad = np.flatnonzero(~np.isfinite(arr))
    return (int(bad[0]), int(bad.size)) if bad.size else (-1, 0)


def index(k: int, shape: tuple[int, ...]) -> str:
    """The k-th element of a C-ordered array of this shape, as Python indexes it: "[2, 0]"."""
    if not shape:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(k, shape)) + "]"
