"""The package's architecture, held: layers as folders importing only from below, no import
circle but Value.backward's seam, one job a file, and an op's rules in every place the
checklist names.

The import graph is read from the source with ast: every import statement, at module level,
inside a function or under TYPE_CHECKING alike (a call-time import still ties two modules).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import microgradx
from microgradx.core import ops

PACKAGE = Path(microgradx.__file__).resolve().parent
LAYERS = ("core", "kernels", "compiler", "training", "viz", "app")  # each imports only from the ones before
# The one import that runs up: Value.backward() calls the sweep (micrograd's API), at the call.
SEAM = ("microgradx.core.engine", "microgradx.backprop")
LONGEST = 700  # lines a module may have


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (any import statement)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                base = base[: len(base) - node.level + 1] if node.level else []
                root = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                # `from a import b`: module a.b if b is one, else module a (a name defined there)
                targets = [f"{root}.{a.name}" if f"{root}.{a.name}" in modules else root for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def layer(name: str) -> str | None:
    """The folder a module sits in (None for the public modules at the top)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


def test_the_import_graph_has_no_circle_but_the_backward_seam():
    graph = imports()
    assert SEAM[1] in graph[SEAM[0]], "the seam moved: update SEAM and its comment in core/engine.py"
    graph[SEAM[0]].discard(SEAM[1])
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            circle = path[path.index(node) :] + [node]
            pytest.fail("import circle: " + " -> ".join(circle))
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, path + [node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])


def test_each_layer_imports_only_from_the_layers_below():
    """core < kernels < compiler < training < viz < app; core and kernels import no public module
    (but the seam), so the lesson and the sweeps stand without what is built on them; nothing
    imports viz or app from below them."""
    for name, targets in imports().items():
        here = layer(name)
        for target in targets:
            if (name, target) == SEAM or name == "microgradx.__main__":  # (python -m runs the command)
                continue
            there = layer(target)
            if here is not None and there is not None:
                assert LAYERS.index(there) <= LAYERS.index(here), f"{name} imports {target}, a layer up"
            if here in ("core", "kernels"):
                assert there is not None, f"{name} imports {target}, a public module built on it"
            if there in ("viz", "app"):
                assert here in ("viz", "app") and LAYERS.index(here) >= LAYERS.index(there), (
                    f"{name} imports {target}: nothing below imports the pictures or the command line"
                )


def test_core_has_no_numba_and_every_numba_function_lives_in_the_kernels_folder():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        uses_numba = re.search(r"^\s*(import numba|from numba)", text, re.M)
        where = path.relative_to(PACKAGE).parts[0]
        if where == "core":
            assert not uses_numba, f"{path}: the lesson has no numba"
        if re.search(r"^@(njit|kernel|inline|parallel|dense|uncounted_\w+)\b", text, re.M):
            assert where == "kernels", f"{path}: numba functions live in kernels/ (the cache's key)"


def test_no_module_is_over_700_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > LONGEST
    }
    assert not long, f"one job a file: {long} over {LONGEST} lines"


def test_every_place_of_the_checklist_asserts_it_covers_the_ops():
    """Each rules table the checklist (core/ops.py PLACES) names exists and calls ops.covers with
    its own name, so a new op missing from it stops the import; and the "add an op" message
    names every place."""
    for place, _ in ops.PLACES:
        file, table = place.split()
        text = (PACKAGE / file).read_text()
        assert re.search(rf"^{table}\b", text, re.M), f"{file} has no {table}"
        if place != "core/ops.py TABLE":  # (TABLE is the checklist's own: asserted in code order)
            assert f'covers("{place}"' in text, f"{file} does not assert that {table} covers every op"
            module = importlib.import_module("microgradx." + file.removesuffix(".py").replace("/", "."))
            assert hasattr(module, table)
        assert place in ops.ADD_AN_OP or place == "core/ops.py TABLE"
    assert "core/ops.py's TABLE" in ops.ADD_AN_OP and "tests/test_ops.py" in ops.ADD_AN_OP


def test_a_table_missing_an_op_is_refused_naming_every_place():
    rules = {k: None for k in ops.COMPUTED if k != ops.Op.TANH}
    with pytest.raises(AssertionError) as refused:
        ops.covers("core/graph_rules.py RULES", rules)
    message = str(refused.value)
    assert message.startswith("core/graph_rules.py RULES has no rule for tanh.")
    assert all(place in message for place, _ in ops.PLACES[1:])
