"""compile() (layer 3, above the kernels): from a graph of Values to calls of the kernels.

Read in this order: passes.py (fewer, bigger slots: folding, CSE, sums, DOTs), program.py
(the tape split into a uniform and a varying program), checks.py (every argument checked
at the Python boundary), workspace.py (what each call works in, per thread), graph.py (the
compiled graph: bind, forward, backward) and second_order.py (jvp, hvp and hessian on
batches).
"""
