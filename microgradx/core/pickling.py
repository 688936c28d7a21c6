"""Pickling and copying a graph of Values: at any depth, without recursion.

pickle and copy.deepcopy recurse into an object's parts: a chain of a few thousand Values
would overflow Python's stack. So a Value with operands sends the whole graph below it
first (`Ahead`: its nodes in topological order, each as a record that refers to its
operands), then itself: every operand is pickled or copied before the node that reads it,
the pickler's memo (deepcopy's) has each one, nothing recurses, and a node shared by
several others, or by several Values pickled together, stays one node.

`engine.Value.__reduce_ex__` and `__copy__` call `reduce` and `record` here; a tape's
nodes travel as one Ahead (`tape.Tape.__getstate__`). tests/test_pickle.py holds it.
"""

from __future__ import annotations

import threading
from typing import Any, SupportsIndex

from .order import topological

Node = Any  # a Value (engine.py, which imports this module): a record carries its class


class Sending(threading.local):
    """What this thread is pickling or copying.

    `nodes`: the nodes whose graph is being sent now (each Ahead adds its own, and its Done
    takes them out): they go as records, without a graph. `sent`: the ids of the nodes sent
    so, which a later Ahead of the same pickling need not walk again (pickling the nodes of
    one deep chain one by one, in order, stays linear): the pickler's memo has them. A node
    of a later pickling may have one of these ids (the same node, or a new one at its
    address); the pickler then asks it for its reduce value, which a node in its memo never
    is, and the node clears `sent` and sends its graph whole: still right, only slower once.
    (A pickling that fails midway leaves its nodes in `nodes`: they pickle as records later,
    still right, recursing on their operands.)
    """

    def __init__(self) -> None:
        self.nodes: dict[Node, None] = {}
        self.sent: set[int] = set()


SENT_IDS = 1 << 16  # `sent` is cleared beyond this many ids: at most a few MB held between picklings
SENDING = Sending()


def reduce(v: Node) -> tuple[Any, ...]:
    """v's reduce value: a record, for a leaf, a constant or a node whose graph is being sent
    already; else its graph first (Ahead), then v."""
    sending = SENDING
    if v._a is None or v in sending.nodes:
        return record(v)
    if id(v) in sending.sent:  # asked again: a new pickling, whose memo has none of them
        sending.sent.clear()
    return (first, (Ahead([v]),))


def record(v: Node) -> tuple[Any, tuple[Any, ...]]:
    """v as pickle's reduce value: `rebuilt`, v's class and its fields (its operands as the Values they are).

    Attributes of v's own go too, but not backward()'s plan, which the next backward() makes again.
    """
    attrs = v.__dict__
    if "_plan" in attrs:
        attrs = {k: x for k, x in attrs.items() if k != "_plan"}
    return rebuilt, (type(v), v.op, v._a, v._b, v._data, v._grad, v._store, v._idx, attrs or None)


def rebuilt(
    cls: type,
    op: int,
    a: Node | tuple[Node, ...] | None,
    b: Node | None,
    data: float,
    grad: float,
    store: Any,
    idx: int,
    attrs: dict[str, Any] | None,
) -> Node:
    """A Value from its record (see record): what pickle and deepcopy call to make one."""
    v = cls._result(op, data, a, b)
    v._grad = grad
    v._store = store
    v._idx = idx
    if attrs:
        for name, x in attrs.items():  # one by one: a label stays in the Value's small array
            setattr(v, name, x)
    return v


def first(values: list[Node]) -> Node:
    """What a Value sent with its graph becomes on the other side: the Ahead's one root."""
    return values[0]


class Ahead:
    """Some Values (`roots`, None allowed), pickled or copied as the whole graph below them.

    Its reduce value sends that graph's nodes in topological order, each as a record (see
    reduce), then a Done that ends the sending, then the roots, which by then
    the memo holds: the other side gets the list of roots back. A tape's nodes travel so
    (Tape.__getstate__); so does a Value with operands.
    """

    __slots__ = ("roots",)

    def __init__(self, roots: list[Node | None]) -> None:
        self.roots = roots

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        order = topological(self.roots, SENDING.sent)
        sending = SENDING.nodes
        new = [v for v in order if v not in sending]  # (an Ahead inside another's graph: only its own)
        sending.update(dict.fromkeys(new))
        return (roots_of, (order, Done(new), self.roots))


class Done:
    """The end of an Ahead's graph: pickled or copied right after its last node, it takes that
    graph's nodes out of the ones being sent (so they pickle alone again afterwards)."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        sending, sent = SENDING.nodes, SENDING.sent
        if len(sent) + len(self.nodes) > SENT_IDS:
            sent.clear()
        for v in self.nodes:
            sending.pop(v, None)
            sent.add(id(v))
        return (nothing, ())


def nothing() -> None:
    return None


def roots_of(order: list[Node], done: None, roots: list[Node | None]) -> list[Node | None]:
    """What an Ahead becomes on the other side: its roots (the graph below them came first)."""
    return roots
