"""Forward mode, gradients as graphs, Hessians: the sweeps beyond one reverse pass.

- `jvp(outputs, {x: ẋ})`: forward mode. One sweep carries a tangent beside each value,
  φ̇_k = Σ_j ∂φ_k/∂φ_j · φ̇_j (reference.tangents, the same op table the reverse sweep
  reads), and gives the derivative of every output along the direction ẋ: a column of
  the Jacobian per sweep, where reverse mode gives a row (Griewank & Walther, Evaluating
  Derivatives, 2nd ed., SIAM 2008, ch. 3: forward costs a small multiple of the function
  per input direction, reverse per output; so n inputs and m outputs take n forward or m
  reverse sweeps).
- `grad(output, wrt, create_graph=True)`: the reverse sweep with adjoints that are Values,
  multiplied and added with Value operations (core/graph_sweeps.py's adjoint_graph, each
  op's derivative as Values from core/graph_rules.py). The gradients are graphs sharing
  nodes with the original: they print, draw, compile and differentiate again.
- `hessian(output, wrt)` and `hvp(output, wrt, v)`: second derivatives, forward over
  reverse (the tangent sweep over the gradient graph: Pearlmutter, Fast exact
  multiplication by the Hessian, Neural Computation 6, 1994).

The same on a compiled graph for a batch of rows: `Compiled.jvp`, `Compiled.hvp` and
`Compiled.hessian` (compiler/second_order.py) compile the same tangent and gradient graphs
and run them on the existing kernels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .compiler.graph import Graph
from .core import reference
from .core.engine import Value
from .core.graph_rules import Local
from .core.graph_sweeps import adjoint_graph, tangent_graph
from .core.ops import Op
from .core.order import topological
from .core.real import is_real, real, shown, why_not
from .core.tape import Tape, flatten

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


def _refresh(output: Value) -> None:
    """Recompute the .data of output's computed nodes from its leaves' current values, as
    backward() does: a gradient graph's nodes take their data from the nodes they are built
    on, so a leaf set after the graph was built would otherwise mix old and new numbers."""
    tape = flatten(output)
    for node, d in zip(tape.nodes, _values(tape, _program(tape))):
        if node.operands:
            node._data = d


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
        _refresh(output)
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
    outs = [tangents[grads[k]] for k in columns]
    leaves = [node for node in topological(outs) if node.op == Op.LEAF]
    c = Graph(outs, inputs=leaves, optimize=False)  # one run: the passes would cost more than they save
    where = {x: k for k, x in enumerate(leaves)}
    X = np.tile([x.data for x in leaves], (n, 1))
    for k, vk in enumerate(v):  # row k: the direction e_k (a v that no tangent reads is no column)
        if vk in where:
            X[k, where[vk]] = 1.0
    H[:, columns] = c.forward(X)
    return H
