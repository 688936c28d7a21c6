"""The two sweeps with Values: gradients and tangents that are graphs themselves.

`reference.py` sweeps a tape of floats. These sweeps walk a graph of Values and build
their results out of Value operations, each op's local derivative from graph_rules.py:

- `adjoint_graph(output, targets)`: the reverse sweep; each node's adjoint ∂output/∂node
  is a Value (one SUM node of its contributions), so a gradient prints, draws, compiles
  and differentiates again (modes.grad(create_graph=True)).
- `tangent_graph(roots, seeds)`: the forward sweep; each node's tangent along the seeds
  is a Value (modes.jvp's graph; over a gradient graph it is forward over reverse: H·v).
- `substituted(roots, replace)`: the graph built again with some leaves replaced (a
  compiled Hessian runs its gradient graph on copies of the parameters).

They are the building blocks of modes.py (on Values) and of compiler/second_order.py (the
same on batches of rows). Equals: the float sweeps of reference.py, by finite differences
and PyTorch: tests/test_modes.py (test_graph_rules_equal_float_rules,
test_hessian_equals_differences_of_the_gradient_and_is_symmetric, test_random_graphs_equal_pytorch).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .engine import Value
from .graph_rules import Local, local
from .order import topological


def _times(g: Local, d: Local) -> Local | None:
    """g · d without a node for the constants 0, 1 and -1 (None: nothing to add)."""
    if not isinstance(d, Value):
        if d == 0.0:
            return None
        if d == 1.0:
            return g
        if d == -1.0:
            return -g
        return g * d
    if not isinstance(g, Value):
        if g == 1.0:
            return d
        if g == -1.0:
            return -d
        if g == 0.0:
            return None
        return d * g
    return g * d


def _total(terms: list[Local]) -> Local:
    """The sum of the contributions: the term itself, or one n-ary SUM node (not a chain of adds)."""
    if len(terms) == 1:
        return terms[0]
    if not any(isinstance(t, Value) for t in terms):
        return float(sum(terms))
    return Value.sum(terms)


def adjoint_graph(output: Value, targets: Sequence[Value]) -> dict[Value, Local]:
    """The reverse sweep with Values: each node's adjoint ∂output/∂node as a Value (or a number).

    Seeds the output with 1 and goes back over the topological order; each node's adjoint
    is the sum of its contributions, one SUM node. Only nodes on a path from a target to
    the output get an adjoint (the rest of the graph is not differentiated at all).
    Returns the targets' adjoints; a target the output does not depend on is missing.
    """
    order = topological([output])
    wanted = set(targets)
    needed = set()  # nodes that depend on a target: the only ones whose adjoints matter
    for v in order:
        if v in wanted or any(u in needed for u in v.operands):
            needed.add(v)
    if output not in needed:
        return {}
    contributions: dict[Value, list[Local]] = {output: [1.0]}
    adjoints: dict[Value, Local] = {}
    for v in reversed(order):
        terms = contributions.pop(v, None)
        if terms is None:
            continue
        g = _total(terms)
        if v in wanted:
            adjoints[v] = g
        operands = v.operands
        if not operands:
            continue
        for u, d in zip(operands, local(v)):  # POWC's exponent takes nothing
            if u in needed:
                c = _times(g, d)
                if c is not None:
                    contributions.setdefault(u, []).append(c)
    return adjoints


def tangent_graph(roots: Iterable[Value], seeds: Mapping[Value, Local]) -> dict[Value, Local]:
    """The forward sweep with Values: each node's tangent along `seeds` ({leaf: ẋ}) as a Value.

    φ̇_k = Σ_j ∂φ_k/∂φ_j · φ̇_j over the operands that have a tangent (the products of
    nodes as one DOT node, the rest added in one SUM);
    nodes that do not depend on a seeded leaf have none (they are not in the result).
    """
    tangents: dict[Value, Local] = dict(seeds)
    for v in topological(roots):
        operands = v.operands
        if not operands or v in tangents or not any(u in tangents for u in operands):
            continue
        terms, ds, ts = [], [], []
        for u, d in zip(operands, local(v)):
            t = tangents.get(u)
            if isinstance(t, Value) and isinstance(d, Value):
                ds.append(d)
                ts.append(t)
            elif t is not None:
                c = _times(t, d)
                if c is not None:
                    terms.append(c)
        if len(ds) > 1:  # Σ dⱼ·ṫⱼ as one DOT node: a product's y·ẋ + x·ẏ, a neuron's Σ wᵢ·ẋᵢ + xᵢ·ẇᵢ
            terms.append(Value.dot(ds, ts))
        elif ds:
            terms.append(ts[0] * ds[0])
        if terms:
            tangents[v] = _total(terms)
    return tangents


def substituted(roots: Iterable[Value], replace: Mapping[Value, Value]) -> dict[Value, Value]:
    """The graph below roots built again with some of its leaves replaced: {node: its new node}.

    Nodes that read a replaced leaf, directly or not, are new (same op, same data); the
    others, and every other leaf and constant, are the same nodes. (Compiled.hessian runs a
    gradient graph on copies of the parameters, so its sweeps write their gradients, not the
    parameters'.)
    """
    new: dict[Value, Value] = dict(replace)
    for v in topological(roots):
        if v in new:
            continue
        operands = v.operands
        if not any(new.get(u, u) is not u for u in operands):
            new[v] = v
            continue
        a = v._a
        if type(a) is tuple:
            new[v] = Value._result(v.op, v._data, tuple(new[u] for u in a), None)
        else:
            new[v] = Value._result(v.op, v._data, new[a], None if v._b is None else new[v._b])
    return new
