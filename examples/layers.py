"""The lecture's network of K layers, both ways: the scalar graph and the matrix recursion.

A network R of K = 3 layers without biases, as the lecture draws it: weight matrices W^(k)
of size d_k × d_{k-1} (here d = 2, 4, 3, 1), activations f_1 = tanh, f_2 = relu,
f_3 = sigmoid. Its gradients, for the mean loss over a few observations:

  1. the scalar graph: model(x) builds one Value per weight, product and activation;
     Value.backward() on the mean loss fills each weight's .grad (`Layer.weight_grad`
     reads them as the matrix W^(k) is laid out);
  2. the lecture's recursion on matrices (`microgradx.matrix.backprop`):
        g ← L'(h[K], y); for k = K … 1: g ← g ⊙ f_k'(a[k]), ∇W[k] ← g h[k-1]ᵀ, g ← W^(k)ᵀ g.

The two agree, for the lecture's quadratic loss and its negative log-likelihood.
"""

import numpy as np

from microgradx import losses, matrix
from microgradx.nn import MLP

model = MLP(2, [4, 3, 1], activation=["tanh", "relu", "sigmoid"], bias=False, seed=1)
X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, 0.1]])  # rows: observations x
Y = np.array([1.0, 0.0, 1.0, 0.0])  # labels y, one per row

print(model)
for k, layer in enumerate(model.layers, start=1):
    print(f"W^({k}) = {layer!r}.weight, {layer.weight.shape[0]} × {layer.weight.shape[1]}")

forward = matrix.forward(model, X[0])
print("\nforward pass of the first row, h[0] ← x; a[k] ← W^(k) h[k-1]; h[k] ← f_k(a[k]):")
for k in range(len(model.layers) + 1):
    a = "" if forward.a[k] is None else f"a[{k}] = {np.round(forward.a[k], 4)}   "
    print(f"  {a}h[{k}] = {np.round(forward.h[k], 4)}")
scalar = model(list(X[0])).data
print(f"  the scalar graph's model(x) = {scalar:.15f}, h[3] = {forward.h[3][0]:.15f}")

worst = 0.0
for loss in ("mse", "nll"):
    # 1. the scalar graph: one loss Value per row, their mean, Value.backward()
    rows = [losses.NAMED[loss]([model(list(x))], [y]) for x, y in zip(X, Y, strict=True)]
    mean = losses.mean(rows)
    model.zero_grad()
    mean.backward()
    graph = [layer.weight_grad for layer in model.layers]
    # 2. the lecture's recursion on matrices
    result = matrix.backprop(model, X, Y, loss)
    print(f"\n{loss}: mean loss {mean.data:.6f} (scalar graph), {result.loss:.6f} (matrices)")
    for k, (a, b) in enumerate(zip(graph, result.W, strict=True), start=1):
        relative = np.abs(a - b).max() / np.abs(a).max()
        worst = max(worst, relative)
        size = f"{b.shape[0]} × {b.shape[1]}"
        print(f"  ∇W[{k}] ({size}): largest entry {np.abs(b).max():.4f}, relative difference {relative:.1e}")
    print("  ∇W[1] by the matrix recursion:")
    print("   ", np.array2string(result.W[0], precision=5, prefix="    "))
    print("  the same entries' .grad on the scalar graph (L1.n1.w1 … L1.n4.w2):")
    print("   ", np.array2string(graph[0], precision=5, prefix="    "))

assert worst <= 1e-12, worst
print("\ncheck passed: the scalar graph and the matrix recursion agree")
print(f"(largest difference {worst:.1e} of the largest entry of each ∇W[k])")
