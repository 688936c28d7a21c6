"""The command line and the demos (layer 6, the top: nothing imports this folder).

Read in this order: cli.py (the `microgradx` command and its subcommands), expr.py (the
expressions the command line takes, parsed safely), commands.py (draw, explain, explore
and the other picture commands), demo.py (micrograd's moons demo, trained through one
compiled graph), demo_real.py (a real data set on mini-batches) and warmup.py (every numba
kernel compiled ahead of time).
"""
