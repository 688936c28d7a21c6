"""Oracles the tests compare the engine against: finite differences, sweeps by engine."""

from __future__ import annotations

from microgradx import Op
from microgradx.backprop import sweep
from microgradx.core.tape import flatten

KINKS = (Op.RELU, Op.ABS, Op.STEP, Op.SIGN)  # ops whose derivative jumps at 0: finite differences fail there


def central_difference(f, xs: list[float], h: float = 1e-6) -> list[float]:
    """∂f/∂xᵢ by (f(x + h eᵢ) - f(x - h eᵢ)) / 2h, an oracle independent of the engine."""
    grads = []
    for i in range(len(xs)):
        up = list(xs)
        down = list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def sweep_grads(root, engine: str = "numba"):
    """(data, grad) arrays of every slot of root's graph, by one engine."""
    tape = flatten(root)
    sweep(tape, engine)
    return tape, tape.data, tape.grad


# -- random graphs of every op, and the same graph in PyTorch (second derivatives) --------------


def random_graph(rng, max_leaves: int = 4, max_ops: int = 14):
    """A random graph using every computed op of the table, kept inside each op's domain and
    away from its edges: log, sqrt and pow's base take x² + 0.5, a division's divisor y² + 1,
    POWC's exponent is one of 2, 3, 0.5, -1 (the last two on x² + 0.5); a draw whose values
    leave [-1e4, 1e4], or with a kink operand (relu, abs, step, sign) within 1e-3 of 0, is
    drawn again. The output is the sum of every node drawn. Returns (the leaves the output
    depends on, the output)."""
    import math

    from microgradx import Op, Value
    from microgradx.core.order import topological

    names = ["add", "sub", "mul", "div", "pow", "powc", "neg", "exp", "log", "tanh", "sigmoid", "relu"]
    names += ["abs", "sqrt", "sin", "cos", "sum", "dot", "step", "sign"]
    while True:
        n = rng.integers(1, max_leaves + 1)
        leaves = [Value(float(rng.uniform(-2, 2)), label=f"x{i}") for i in range(n)]
        nodes = list(leaves)
        for _ in range(rng.integers(1, max_ops + 1)):
            name = names[rng.integers(len(names))]
            x, y, z = (nodes[rng.integers(len(nodes))] for _ in range(3))
            if rng.random() < 0.3:
                y = Value.const(float(rng.uniform(-2, 2)))
            safe = x * x + 0.5
            if name in ("add", "sub", "mul"):
                out = {"add": x + y, "sub": x - y, "mul": x * y}[name]
            elif name == "div":
                out = x / (y * y + 1.0)
            elif name == "pow":
                out = safe**y
            elif name == "powc":
                c = float(rng.choice([2.0, 3.0, 0.5, -1.0]))
                out = (safe if c < 1 else x) ** c
            elif name in ("log", "sqrt"):
                out = getattr(safe, name)()
            elif name == "neg":
                out = -x
            elif name == "sum":
                out = Value.sum([x, y, z])
            elif name == "dot":
                out = Value.dot([x, y], [z, x])
            else:
                out = getattr(x, name)()
            nodes.append(out)
        computed = nodes[len(leaves) :]
        out = computed[0] if len(computed) == 1 else Value.sum(computed)  # every op drawn counts
        order = topological([out])
        if all(math.isfinite(v.data) and abs(v.data) < 1e4 for v in order) and not any(
            v.op in KINKS and abs(v.operands[0].data) < 1e-3 for v in order
        ):
            return [v for v in order if v.op == Op.LEAF], out


def torch_function(outputs, leaves, given=None):
    """The graph below `outputs` as a PyTorch function of one float64 vector holding the values
    of `leaves`, replayed op by op; `given` maps other leaves to tensors (a batch of rows
    broadcasts), and the rest of the leaves and the constants stay at their data. Returns a
    list, one tensor per output."""
    import torch

    from microgradx import Op
    from microgradx.core.order import topological

    ops = {
        Op.ADD: torch.add, Op.SUB: torch.sub, Op.MUL: torch.mul, Op.DIV: torch.div, Op.POW: torch.pow,
        Op.POWC: torch.pow, Op.NEG: torch.neg, Op.EXP: torch.exp, Op.LOG: torch.log, Op.TANH: torch.tanh,
        Op.SIGMOID: torch.sigmoid, Op.RELU: torch.relu, Op.ABS: torch.abs, Op.SQRT: torch.sqrt,
        Op.SIN: torch.sin, Op.COS: torch.cos, Op.SUM: lambda *xs: sum(xs[1:], xs[0]),
        Op.DOT: lambda *xs: sum(xs[i] * xs[len(xs) // 2 + i] for i in range(len(xs) // 2)),
        Op.STEP: lambda x: (x > 0).to(x.dtype), Op.SIGN: torch.sign,
    }  # fmt: skip
    order = topological(outputs)

    def f(vec):
        env = dict(given or {})
        env.update((leaf, vec[i]) for i, leaf in enumerate(leaves))
        for v in order:
            if v in env:
                continue
            if not v.operands:
                env[v] = torch.tensor(v.data, dtype=torch.float64)
            else:
                env[v] = ops[v.op](*[env[u] for u in v.operands])
        return [env[o] for o in outputs]

    return f


def tanh_chain(n: int):
    """x, then n - 1 tanh nodes one after the other, the last called f: a tape of n slots, a graph
    as deep as it is long (the long printouts and pages of issue 21)."""
    from microgradx import Value

    f = Value(0.5, "x")
    for _ in range(n - 1):
        f = f.tanh()
    f.label = "f"
    return f
