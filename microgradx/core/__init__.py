"""The lesson (layer 1): the op table, Value, the tape and the sweeps in plain Python. No numba.

Read in this order: ops.py (every op once, its forward rule and derivative side by side),
real.py (what a number is), engine.py (Value: builds the graph), order.py (the topological
order), tape.py (the graph flattened into arrays; print(tape)), reference.py (the sweeps
in plain Python, the lecture's algorithm), graph_rules.py and graph_sweeps.py (each op's
derivative as Values; the sweeps that build gradients as graphs), store.py (parameters in
flat arrays), pickling.py (a graph pickled without recursion), nantrace.py (where a nan
came from).
"""
