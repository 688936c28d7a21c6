"""A network found in a tape: its neurons (act(Σ wᵢ·xᵢ + b), as nn.Neuron builds them) and
its layers (neurons reading the same inputs). `draw` summarises a large graph as these
layers' tables (graph.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.ops import Op
from ..core.tape import Tape

ACTIVATIONS = frozenset({Op.RELU, Op.TANH, Op.SIGMOID})


@dataclass
class Neuron:
    """A neuron found in a tape: act(Σ wᵢ·xᵢ + b), as `nn.Neuron` builds it (act may be absent);
    without a bias (`bias=False`), act(Σ wᵢ·xᵢ): then `bias` is None and `add` is the DOT."""

    dot: int
    add: int
    out: int
    weights: list[int]
    bias: int | None
    inputs: list[int]

    @property
    def parameters(self) -> list[int]:
        """Its weights' slots, then its bias's if it has one."""
        return self.weights if self.bias is None else [*self.weights, self.bias]

    @property
    def slots(self) -> list[int]:
        """Every slot the neuron's table row stands for: its parameters and its computed nodes."""
        return list(dict.fromkeys([*self.parameters, self.dot, self.add, self.out]))


@dataclass
class Layer:
    """Neurons reading the same inputs in the same order: one table in a summarised picture.

    `place` is the dotted prefix its parameters' names share (L2 for L2.n3.w1), if any.
    """

    neurons: list[Neuron]
    place: str
    number: int

    @property
    def name(self) -> str:
        return self.place or f"layer {self.number}"

    @property
    def inputs(self) -> list[int]:
        return self.neurons[0].inputs


def users_of(tape: Tape) -> list[list[int]]:
    """For each slot, the slots that read it (a slot reading it twice is listed once)."""
    users: list[list[int]] = [[] for _ in range(len(tape))]
    for s in range(len(tape)):
        for o in dict.fromkeys(tape.operands(s).tolist()):
            users[o].append(s)
    return users


def find_neurons(tape: Tape, role: list[str], users: list[list[int]]) -> list[Neuron]:
    """Every DOT of parameters with other values, plus a parameter bias (or none: `bias=False`),
    then maybe an activation."""
    found = []
    for k in range(len(tape)):
        if tape.op[k] != Op.DOT:
            continue
        ops = tape.operands(k).tolist()
        n = len(ops) // 2
        halves = (ops[:n], ops[n:]), (ops[n:], ops[:n])
        pick = [
            (w, x)
            for w, x in halves
            if all(role[s] == "parameter" for s in w) and len(set(w)) == n and not set(w) & set(x)
        ]
        if not pick:
            continue
        weights, inputs = pick[0]
        add, bias = k, None
        if len(users[k]) == 1 and tape.op[users[k][0]] == Op.ADD:
            pair = tape.operands(users[k][0]).tolist()
            other = pair[1] if pair[0] == k else pair[0]
            if role[other] == "parameter" and other not in weights and other != k:
                add, bias = users[k][0], other
        out = add
        if len(users[add]) == 1 and tape.op[users[add][0]] in ACTIVATIONS:
            out = users[add][0]
        found.append(Neuron(k, add, out, weights, bias, inputs))
    return found


def prefix(names: Sequence[str]) -> str:
    """The dotted prefix all names share, as place names give it: L2.n3.w1, L2.n3.b → L2.n3."""
    parts = [n.split(".")[:-1] for n in names]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common)


def find_layers(tape: Tape, names: list[str], role: list[str], users: list[list[int]]) -> list[Layer]:
    """Neurons grouped by the inputs they read; each group named by its parameters' common place."""
    groups: dict[tuple[int, ...], list[Neuron]] = {}
    for neuron in find_neurons(tape, role, users):
        groups.setdefault(tuple(neuron.inputs), []).append(neuron)
    layers = []
    for k, neurons in enumerate(groups.values(), start=1):
        places = [prefix([names[s] for s in n.parameters]) for n in neurons]
        place = prefix(places)  # L2 for L2.n1, L2.n2, …; L3 for a layer of one neuron, L3.n1
        layers.append(Layer(neurons, place, k))
    return layers
