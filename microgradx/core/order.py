"""The topological order: every node below some roots, each after its operands.

micrograd's `build_topo`, without its recursion: an explicit stack, so a chain of a
million nodes sorts as easily as a short one. The sweeps with Values (graph_sweeps.py),
pickling (pickling.py), the compiler and the pictures walk graphs in this order;
`tape.flatten` does the same walk and numbers the slots as it goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

Node = Any  # a Value (engine.py): only its operands, _a and _b, are read here


def topological(roots: Iterable[Node | None], skip: AbstractSet[int] = frozenset()) -> list[Node]:
    """Every Value below `roots` (None entries skipped), each after its operands; with an explicit
    stack, so a chain of any length sorts without recursion. Values whose id is in `skip` are
    left out, with the graph below them."""
    done: set[Node] = set()
    order: list[Node] = []
    for root in roots:
        if root is None or root in done:
            continue
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            v, operands_placed = stack.pop()
            if operands_placed:
                order.append(v)
                continue
            if v in done:
                continue
            done.add(v)
            stack.append((v, True))
            a = v._a
            if a is not None:
                operands = a if type(a) is tuple else (a,) if v._b is None else (a, v._b)
                stack.extend((u, False) for u in reversed(operands) if u not in done and id(u) not in skip)
    return order
