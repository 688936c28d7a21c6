"""The fast sweeps: the lesson's sweeps again, in numba, by job (layer 2, above core/).

Read in this order: codes.py (the op codes and the lane program's columns), scalar.py
(the scalar sweeps: reference.py's loop in numba), updates.py (the optimizers' rules),
lanes.py (the varying program on many rows at once; exp.py, its e^x in arithmetic that
vectorises), dots.py and tiles.py (a neuron's and a layer's DOT on the lanes),
matrix_layers.py, matmul.py and simd.py (a wide layer as matrix products, on vectors of
eight numbers), chunks.py (a batch cut into chunks, threads), layout.py (the program and
the workspace packed, and cut back), calls.py (the entry points a compiled graph calls),
numpy_calls.py (the same entry points in NumPy), split.py (the compiler's one numba
loop), jit.py (when numba compiles, and what runs until then) and cache.py (the on-disk
cache, keyed on every file here). Each file's docstring names the simple sweep it equals
and the tests that hold it there.
"""
