"""The `microgradx` command: demo trains a tiny network, draw and explain show a graph.

`warmup` compiles the numba kernels ahead of time.

Each subcommand lives in its own module, which adds its parser and its `run`. Without a
command, or a command that needs an expression without one, it prints the help. Every
message that can carry text from the command line goes through `expr.printable`, so no
control character reaches the terminal.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from . import commands, demo, warmup
from .expr import printable, suggest


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose error messages (which quote the command line) are printable, and
    which knows its option strings, to suggest one for a misspelt option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.option_strings: list[str] = []  # filled by add_argument, -h and --help among them
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.option_strings += action.option_strings
        return action

    def error(self, message: str) -> NoReturn:
        """argparse's hook for a mistake on the command line: prints usage and message, exits with 2."""
        super().error(printable(message))

    def unrecognized(self, extras: list[str]) -> NoReturn:
        """The error for arguments this (sub)command does not know, with its own usage (argparse
        gives the top-level one) and a "did you mean" for a misspelt option (argparse's own
        suggest_on_error came with Python 3.14)."""
        hints = {
            name: suggest(name, self.option_strings)
            for a in extras
            if (name := a.partition("=")[0]).startswith("-")
        }
        shown = [f"{name}: {hint}" if len(hints) > 1 else hint for name, hint in hints.items() if hint]
        self.error(
            f"unrecognized arguments: {' '.join(extras)}" + (f" ({''.join(shown).strip()})" if shown else "")
        )


def version() -> str:
    """`microgradx 0.1.0 (numba 0.60.0, NumPy 2.0.2, Python 3.11.7)`: what a bug report needs."""
    import numba
    import numpy

    return (
        f"microgradx {__version__} "
        f"(numba {numba.__version__}, NumPy {numpy.__version__}, Python {platform.python_version()})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = Parser(prog="microgradx", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_parser(sub)
    commands.add_parsers(sub)
    warmup.add_parser(sub)
    if not argv:
        parser.print_help()
        return 0
    at = next((k for k, arg in enumerate(argv) if not arg.startswith("-")), None)
    if at is not None:
        command, rest = argv[at], argv[at + 1 :]
        if command not in sub.choices:
            hint = suggest(command, sub.choices)
            parser.error(f"unknown command {command!r}: {hint}choose one of {', '.join(sub.choices)}")
        if command in commands.OPTIONS:
            if not rest:
                sub.choices[command].print_help()
                return 0
            argv = [*argv[:at], command, *commands.expressions_after_options(rest, commands.OPTIONS[command])]
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub.choices[args.command].unrecognized(extras)
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, OSError) as e:  # a user's mistake: say it, no traceback
        print(printable(f"microgradx {args.command}: {e}"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
