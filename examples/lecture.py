"""The lecture's worked examples, computed by microgradx.

f = (u + v) · w at u=2, v=3, w=4 gives f = 20, ∂f/∂u = ∂f/∂v = w = 4, ∂f/∂w = u + v = 5;
F(x) = (2x + 3)² gives F'(x) = 4(2x + 3).
"""

from microgradx import Value, flatten
from microgradx.backprop import sweep

u, v, w = Value(2.0, label="u"), Value(3.0, label="v"), Value(4.0, label="w")
t1 = u + v
f = t1 * w
f.label = "f"
f.backward()
print(f"f = (u + v) * w = {f.data:g}")
print(f"df/du = {u.grad:g}   df/dv = {v.grad:g}   df/dw = {w.grad:g}")

tape = flatten(f)
sweep(tape)
print("\nThe tape, one slot a line:")
print(tape)

x = Value(1.5, label="x")
F = (2 * x + 3) ** 2
F.backward()
print(f"\nF(x) = (2x + 3)^2 at x = {x.data:g}: F = {F.data:g}")
print(f"F'(x) = {x.grad:g}, and the chain rule's 4(2x + 3) = {4 * (2 * x.data + 3):g}")
