"""Forward mode, gradients as graphs, Hessians: the sweeps beyond one reverse pass.

- `jvp(outputs, {x: ẋ})`: forward mode. One sweep carries a tangent beside each value,
  φ̇_k = Σ_j ∂φ_k/∂φ_j · φ̇_j (reference.tangents, the same op table the reverse sweep
  reads), and gives the derivative of every output along the direction ẋ: a column of
  the Jacobian per sweep, where reverse mode gives a row (Griewank & Walther, Evaluating
  Derivatives, 2nd ed., SIAM 2008, ch. 3: forward costs a small multiple of the function
  per input direction, reverse per output; so n inputs and m outputs take n forward or m
  reverse sweeps).
- `grad(output, wrt, create_graph=True)`: the reverse sweep with adjoints that are Values,
  multiplied and added with Value operations (graph_rules.py: each op's derivative as
  Values). The gradients are graphs sharing nodes with the original: they print, draw,
  compile and differentiate again.
- `hessian(output, wrt)` and `hvp(output, wrt, v)`: second derivatives, forward over
  reverse (the tangent sweep over the gradient graph: Pearlmutter, Fast exact
  multiplication by the Hessian, Neural Computation 6, 1994).

The same on a compiled graph for a batch of rows: `Compiled.jvp`, `Compiled.hvp` and
`Compiled.hessian` (compiled.py) compile the tangent and gradient graphs built here and
run them on the existing kernels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from . import reference
from .engine import Value, topological
from .graph_rules import Local, local
from .ops import Op
from .real import is_real, real, shown, why_not
from .tape import Tape, flatten

# -- the two sweeps with Values: the building blocks -------------------------------------


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


# -- checking what the public functions take -----------------------------------------------


def _output(output: object, caller: str) -> Value:
    if not isinstance(output, Value):
        raise TypeError(
            f"{caller}: output must be a Value (the one you computed), got {shown(output)} "
            f"({type(output).__name__})"
        )
    return output


def _wrt(wrt: object, caller: str) -> tuple[list[Value], bool]:
    """wrt as a list of Values, and whether it was one Value."""
    if isinstance(wrt, Value):
        return [wrt], True
    if isinstance(wrt, (str, bytes, Mapping)) or not hasattr(wrt, "__iter__"):
        raise TypeError(
            f"{caller}: wrt must be a Value or a list of Values, got {shown(wrt)} ({type(wrt).__name__})"
        )
    values = list(wrt)
    for k, x in enumerate(values):
        if not isinstance(x, Value):
            raise TypeError(f"{caller}: wrt[{k}] is {shown(x)} ({type(x).__name__}), not a Value")
    return values, False


def _leaves_of(output: Value, targets: list[Value], caller: str) -> None:
    """Hessians and tangents are taken with respect to leaves (inputs, parameters) of the graph."""
    for k, x in enumerate(targets):
        if x.op != Op.LEAF:
            kind = "a constant" if x.op == Op.CONST else "computed from other Values"
            raise ValueError(
                f"{caller}: wrt[{k}] ({x!r}) is {kind}, not a leaf: second derivatives are taken "
                "with respect to leaves (Value(...) inputs or parameters)"
            )
    if len(set(targets)) != len(targets):
        raise ValueError(f"{caller}: wrt lists a Value twice")


def _tangent_number(x: object, what: str) -> float:
    if not is_real(x):
        raise TypeError(f"{what} is {shown(x)} ({type(x).__name__}), not a number{why_not(x)}")
    return real(x, what)


def _program(tape: Tape) -> tuple[list[int], list[int], list[int], list[int]]:
    """The tape as the reference sweeps take it: op codes, operand slots, n-ary operands."""
    return tape.op.tolist(), tape.a.tolist(), tape.b.tolist(), tape.args.tolist()


def _values(tape: Tape, program: tuple[list[int], ...]) -> list[float]:
    """Every slot's value, from the leaves' current data (reference.forward)."""
    vals = tape.initial_values().tolist()
    reference.forward(*program, vals)
    return vals


# -- the public functions ----------------------------------------------------------------------


def jvp(
    outputs: Value | Sequence[Value], tangents: Mapping[Value, float]
) -> tuple[float, float] | tuple[list[float], list[float]]:
    """Forward mode: the outputs and their derivatives along a direction of the leaves.

    `tangents` maps leaves of the graph to their tangent ẋ (leaves not named have 0).
    Returns (value, tangent), two floats, for one output Value; (values, tangents), two
    lists, for a list of outputs, as torch.func.jvp returns (primals_out, tangents_out).
    One tangent sweep (`reference.tangents`) over the flattened graph, values recomputed
    from the leaves' current data. Along the unit vector eᵢ it gives ∂output/∂xᵢ, the
    i-th entry of the reverse sweep's gradient.

    Raises TypeError for a key that is not a Value or a tangent that is not a number, and
    ValueError for a key that is not a leaf of the graph.
    """
    single = isinstance(outputs, Value)
    roots = [outputs] if single else list(outputs) if isinstance(outputs, (list, tuple)) else None
    if roots is None or not all(isinstance(r, Value) for r in roots):
        raise TypeError(f"jvp(outputs): outputs must be a Value or a list of Values, got {shown(outputs)}")
    if not isinstance(tangents, Mapping):
        raise TypeError(
            f"jvp(outputs, tangents): tangents must be a dict {{leaf: tangent}}, like {{x: 1.0}}, "
            f"got {shown(tangents)} ({type(tangents).__name__})"
        )
    tape = flatten(roots)
    slot = {id(tape.nodes[s]): int(s) for s in tape.leaves}
    tans = [0.0] * len(tape)
    for x, dx in tangents.items():
        if not isinstance(x, Value):
            raise TypeError(
                f"jvp: the key {shown(x)} ({type(x).__name__}) is not a Value: tangents maps leaves "
                "of the graph to numbers, like {x: 1.0}"
            )
        s = slot.get(id(x))
        if s is None:
            why = {Op.LEAF: "is not in the graph of the outputs", Op.CONST: "is a constant"}.get(
                x.op, "is computed from other Values"
            )
            raise ValueError(
                f"jvp: the key {x!r} {why}: give tangents to leaves the outputs depend on "
                "(their inputs and parameters)"
            )
        tans[s] = _tangent_number(dx, f"jvp: the tangent of {x!r}")
    program = _program(tape)
    vals = _values(tape, program)
    reference.tangents(*program, vals, tans)
    values = [vals[s] for s in tape.outputs.tolist()]
    out_tangents = [tans[s] for s in tape.outputs.tolist()]
    return (values[0], out_tangents[0]) if single else (values, out_tangents)


def grad(
    output: Value, wrt: Value | Sequence[Value], create_graph: bool = False
) -> float | list[float] | Value | list[Value]:
    """∂output/∂wrt, without touching any `.grad`: a float (a list for a list of wrt).

    With `create_graph=True` the gradients are Values, built by the reverse sweep from
    Value operations (each op's derivative in graph_rules.py), sharing nodes with the
    original graph: print them, draw them, compile them, or take their grad again for
    second derivatives. Each adjoint is one SUM of its contributions; multiplications by
    1 and -1 make no node. A wrt the output does not depend on gets 0 (`Value.const(0)`
    with create_graph). wrt may be any node of the graph (its adjoint), as in
    torch.autograd.grad.
    """
    output = _output(output, "grad")
    targets, single = _wrt(wrt, "grad")
    if not isinstance(create_graph, (bool, np.bool_)):
        raise TypeError(f"grad(create_graph={create_graph!r}): use True or False")
    if create_graph:
        adjoints = adjoint_graph(output, targets)
        found = [adjoints.get(x, 0.0) for x in targets]
        result: list = [g if isinstance(g, Value) else Value.const(g) for g in found]
    else:  # the plain reverse sweep (reference.backward) on the flattened graph, values recomputed
        tape = flatten(output)
        program = _program(tape)
        vals = _values(tape, program)
        grads = [0.0] * len(tape)
        grads[int(tape.outputs[0])] = 1.0
        reference.backward(*program, vals, grads)
        slot = {id(node): s for s, node in enumerate(tape.nodes)}
        result = [grads[slot[id(x)]] if id(x) in slot else 0.0 for x in targets]
    return result[0] if single else result


def _second_order(output: Value, targets: list[Value]) -> tuple[list[Local], dict[Value, Local], list[Value]]:
    """The gradient graph of output w.r.t. targets, and its tangents along new leaves v (one per
    target): forward over reverse. Returns (gradients, tangents, v)."""
    adjoints = adjoint_graph(output, targets)
    grads = [adjoints.get(x, 0.0) for x in targets]
    v = [Value(0.0, label=f"v{k}") for k in range(len(targets))]
    tangents = tangent_graph([g for g in grads if isinstance(g, Value)], dict(zip(targets, v)))
    return grads, tangents, v


def hvp(output: Value, wrt: Sequence[Value], v: Sequence[float]) -> tuple[float, np.ndarray]:
    """The Hessian-vector product H·v of output w.r.t. the leaves `wrt`: (output's value, H·v).

    As torch.autograd.functional.hvp returns (func_output, hvp); H·v has shape (n,) for
    n leaves. Forward over reverse: the tangent sweep (`reference.tangents`) along v over the
    gradient graph (`grad(..., create_graph=True)`), one sweep whatever n is (Pearlmutter 1994).
    """
    output = _output(output, "hvp")
    targets, _ = _wrt(wrt, "hvp")
    _leaves_of(output, targets, "hvp")
    direction = np.asarray(v, dtype=object).reshape(-1) if np.ndim(v) <= 1 else None
    if direction is None or direction.size != len(targets):
        raise ValueError(f"hvp: v must hold one number per wrt ({len(targets)}), got {shown(v)}")
    dv = [_tangent_number(x, f"hvp: v[{k}]") for k, x in enumerate(direction.tolist())]
    adjoints = adjoint_graph(output, targets)
    grads = [adjoints.get(x) for x in targets]
    computed = [g for g in grads if isinstance(g, Value)]
    result = np.zeros(len(targets))
    if computed:
        tape = flatten(computed)
        slot = {id(node): int(s) for s, node in enumerate(tape.nodes)}
        tans = [0.0] * len(tape)
        for x, t in zip(targets, dv):
            s = slot.get(id(x))
            if s is not None:
                tans[s] = t
        program = _program(tape)
        reference.tangents(*program, _values(tape, program), tans)
        for k, g in enumerate(grads):
            if isinstance(g, Value):
                result[k] = tans[slot[id(g)]]
    value = jvp(output, {})[0]
    return value, result


def hessian(output: Value, wrt: Sequence[Value]) -> np.ndarray:
    """The Hessian ∂²output/∂wrtᵢ∂wrtⱼ w.r.t. the leaves `wrt`, a NumPy array of shape (n, n).

    Forward over reverse, compiled: the tangent graph of the gradient graph along new leaves
    v is compiled once and run on the n rows v = e₁ … eₙ, one Hessian row each (row i is
    H·eᵢ, so H[i, j] = ∂/∂xᵢ (∂output/∂xⱼ)); symmetric up to rounding, not symmetrised.
    The graph's leaves all go in as inputs, so nothing is bound to a Store and no `.grad`
    changes.
    """
    output = _output(output, "hessian")
    targets, _ = _wrt(wrt, "hessian")
    _leaves_of(output, targets, "hessian")
    n = len(targets)
    grads, tangents, v = _second_order(output, targets)
    columns = [k for k, g in enumerate(grads) if isinstance(tangents.get(g), Value)]
    H = np.zeros((n, n))
    if not columns:
        return H
    from .compiled import compile  # noqa: A004 (compiled builds on this module)

    outs = [tangents[grads[k]] for k in columns]
    leaves = [node for node in topological(outs) if node.op == Op.LEAF]
    c = compile(outs, inputs=leaves, optimize=False)  # one run: the passes would cost more than they save
    where = {x: k for k, x in enumerate(leaves)}
    X = np.tile([x.data for x in leaves], (n, 1))
    for k, vk in enumerate(v):  # row k: the direction e_k (a v that no tangent reads is no column)
        if vk in where:
            X[k, where[vk]] = 1.0
    H[:, columns] = c.forward(X)
    return H
