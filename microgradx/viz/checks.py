"""What the pictures' public calls take, checked where they are called.

draw, draw_tape, explore, render and pipe pass their arguments through these first, so that
a wrong one is refused at the call, with a TypeError (the wrong kind of thing) or a
ValueError (the right kind, a wrong value) that names the call, the argument, what it got
and what it takes, before anything deep inside (flatten, pathlib, graphviz) trips on it and
before any file is written. Whole numbers, flags and paths are checked by compile's rules
(`compiler.checks.whole_number`, `flag` and `file_path`).
"""

from __future__ import annotations

from collections.abc import Mapping

import graphviz

from ..core.engine import Value
from ..core.real import shown
from ..core.tape import Tape, flatten, label_text


def got(x: object) -> str:
    """What a call was given, as its messages name it: `3.0 (float)`."""
    return f"{shown(x)} ({type(x).__name__})"


def roots(root: object, call: str, named: bool = False, name: str = "root") -> list[Value]:
    """The Values a graph is drawn from: one Value, or a non-empty list (any iterable) of them, or
    with `named` a dict {name: Value} (draw's titled roots). TypeError for anything else, naming
    the item that is not a Value; ValueError for none at all. `name`: the argument (draw's
    `original` takes Values too)."""
    takes = "a Value, a list of Values or a dict {name: Value}" if named else "a Value or a list of Values"
    if isinstance(root, Value):
        return [root]
    if isinstance(root, Mapping) and named:
        for key in root:
            if not isinstance(key, str):
                raise TypeError(
                    f"{call}({{name: Value}}): the names of the roots must be strings, like '∂f/∂u'; "
                    f"got {got(key)}"
                )
        items = [(f"{name}[{key!r}]", v) for key, v in root.items()]
    elif isinstance(root, (str, bytes, Mapping)) or not hasattr(root, "__iter__"):
        raise TypeError(f"{call}({name}): {name} must be {takes}, got {got(root)}")
    else:
        items = [(f"{name}[{k}]", v) for k, v in enumerate(root)]
    if not items:
        if name == "root":
            raise ValueError(
                f"{call}(root): nothing to {call}: root is empty ({got(root)}); give {takes}, like {call}(f)"
            )
        raise ValueError(f"{call}({name}): {name} is empty ({got(root)}); give {takes}, or leave it out")
    for where, v in items:
        if not isinstance(v, Value):
            raise TypeError(f"{call}({name}): {where} is {got(v)}, not a Value; {name} must be {takes}")
    return [v for _, v in items]


def leaves(things: object, name: str, call: str) -> list[Value] | None:
    """inputs= or parameters= as a list of Values: given as a Value, a list of them, a Module (its
    `parameters()`) or an optimizer (its `params`); None stays None."""
    if things is None:
        return None
    if isinstance(things, Value):
        return [things]
    if hasattr(things, "parameters") and callable(things.parameters):
        values = list(things.parameters())
    elif hasattr(things, "params"):
        values = list(things.params)
    elif isinstance(things, (str, bytes, Mapping)) or not hasattr(things, "__iter__"):
        raise TypeError(
            f"{call}({name}): {name} must be a list of Values (or a Module, or an optimizer), "
            f"got {got(things)}"
        )
    else:
        values = list(things)
    for k, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{call}({name}): {name}[{k}] is {got(v)}, not a Value: list the graph's leaves")
    return values


Leaves = list[Value] | None


def leaf_lists(inputs: object, parameters: object, call: str) -> tuple[Leaves, Leaves]:
    """draw's and explore's inputs= and parameters=, each as `leaves` takes it; ValueError for a
    Value in both (a leaf is one or the other), naming it."""
    ins, pars = leaves(inputs, "inputs", call), leaves(parameters, "parameters", call)
    both = {id(v) for v in ins or ()} & {id(v) for v in pars or ()}
    if both:
        first = next(v for v in ins or () if id(v) in both)
        called = label_text(first) or shown(first)
        raise ValueError(
            f"{call}(inputs, parameters): {called} is in both inputs and parameters; "
            "a leaf is one or the other: leave it out of one list"
        )
    return ins, pars


def text(x: object, name: str, call: str) -> str | None:
    """An optional piece of text, like a page's title: a str, or None."""
    if x is not None and not isinstance(x, str):
        raise TypeError(f"{call}({name}): {name} must be a str (or None), got {got(x)}")
    return x


def value_or_none(x: object, name: str, call: str) -> Value | None:
    """A Value or None, like forward mode's wrt, which must be a leaf of the graph."""
    if x is not None and not isinstance(x, Value):
        raise TypeError(f"{call}({name}): {name} must be a leaf of the graph (a Value), got {got(x)}")
    return x


def tape_of(tape: object, call: str) -> Tape:
    """A Tape, or a Value flattened into one."""
    if isinstance(tape, Value):
        return flatten(tape)
    if not isinstance(tape, Tape):
        raise TypeError(f"{call}(tape): tape must be a Tape (tape = flatten(f)) or a Value, got {got(tape)}")
    return tape


def picture_format(fmt: object, call: str) -> str:
    """A picture's format, one graphviz knows ('svg', 'png', 'jpg', ...): checked at the call,
    not when the picture is first shown."""
    if not isinstance(fmt, str):
        raise TypeError(
            f"{call}(format): format must be a picture format, like 'svg' or 'png', got {got(fmt)}"
        )
    if fmt not in graphviz.FORMATS:
        raise ValueError(
            f"{call}(format): {fmt!r} is not a picture format graphviz knows; use 'svg' or 'png'"
        )
    return fmt
