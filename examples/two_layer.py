"""The lecture's two-layer network R(x) = f₂(w₂·f₁(w₁·x)), fitted to a few points by hand-written steps.

f₁ = tanh, f₂ = sigmoid, loss L = (R(x) − y)². The gradients backprop finds are
the lecture's chain rule, written out for the first point:

    ∂L/∂w₂ = L'(R) · f₂'(a₂) · f₁(a₁)
    ∂L/∂w₁ = L'(R) · f₂'(a₂) · w₂ · f₁'(a₁) · x
"""

import math

import numpy as np

import microgradx
from microgradx import Value
from microgradx.optim import SGD

points = np.array([[-2.0, 0.1], [-1.0, 0.2], [0.0, 0.5], [1.0, 0.8], [2.0, 0.9]])  # (x, y)

w1, w2 = Value(0.3, label="w1"), Value(-0.5, label="w2")
x, y = Value(0.0, label="x"), Value(0.0, label="y")
a1 = w1 * x
a2 = w2 * a1.tanh()
R = a2.sigmoid()
loss = (R - y) ** 2
step = microgradx.compile(loss, inputs=[x, y])

# Check one point against the chain rule written by hand.
step.forward(points[0])
step.backward()
xv, yv = points[0]
h = math.tanh(0.3 * xv)
r = 1 / (1 + math.exp(-(-0.5 * h)))
dL = 2 * (r - yv)
print(f"∂L/∂w2 = {w2.grad:+.6f}   by hand {dL * r * (1 - r) * h:+.6f}")
print(f"∂L/∂w1 = {w1.grad:+.6f}   by hand {dL * r * (1 - r) * -0.5 * (1 - h * h) * xv:+.6f}")

opt = SGD([w1, w2], lr=2.0)
for k in range(300):
    batch_loss = step.forward(points).mean()
    opt.zero_grad()
    step.backward()
    opt.step()
    if k % 60 == 0 or k == 299:
        print(f"step {k:3d}  loss {batch_loss:.5f}  w1 {w1.data:+.3f}  w2 {w2.data:+.3f}")

fitted = microgradx.compile(R, inputs=[x]).forward(points[:, :1])
for (xi, yi), ri in zip(points, fitted, strict=True):
    print(f"x = {xi:+.0f}   y = {yi:.2f}   R(x) = {ri:.3f}")
