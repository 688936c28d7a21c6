"""The `microgradx` command: `demo` trains a tiny network; `draw` and `explain` show a graph;
`warmup` compiles the numba kernels ahead of time.

Each subcommand lives in its own module, which adds its parser and its `run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand; returns the exit status."""
    from . import demo, warmup
    from .viz import commands

    parser = argparse.ArgumentParser(prog="microgradx", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_parser(sub)
    commands.add_parsers(sub)
    warmup.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, OSError) as e:  # a user's mistake: say it, no traceback
        print(f"microgradx {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
