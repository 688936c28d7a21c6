"""Turning DOT source into pictures with whichever Graphviz renderer is installed.

We look for the system `dot` first, then the pip-installable `graphviz-pure` (a
pure-Rust port of `dot`, a dependency of microgradx, so a pip install alone can
draw). Both are run on a temporary file rather than fed on standard input:
graphviz-pure 0.2.2 ignores standard input (it prints nothing and exits 0).
Both renderers write SVG and PNG (also JPEG, and `plain`/`json` layouts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import graphviz

from ..compiler.checks import file_path
from ..serialize import writable_folder
from .checks import got
from .text import FONT, FONT_FAMILY, RASTER_FONT

RENDERERS = ("dot", "graphviz-pure")
INSTALL_HINT = (
    "install a Graphviz renderer: `apt-get install graphviz` (the system `dot`) "
    "or `pip install graphviz-pure==0.2.2`"
)
PICTURES = {".svg": "svg", ".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}
SOURCES = (".dot", ".gv")


class RendererNotFound(OSError):
    """Neither `dot` nor `graphviz-pure` is installed; the message says how to get one."""


def find_renderer() -> str:
    """The path of `dot` on PATH, else of `graphviz-pure` on PATH or beside this Python.

    Looking beside `sys.executable` finds graphviz-pure in a virtualenv that is not
    activated (its bin directory is then not on PATH).
    """
    for name in RENDERERS:
        found = shutil.which(name)
        if found:
            return found
    found = shutil.which("graphviz-pure", path=str(Path(sys.executable).parent))
    if found:
        return found
    raise RendererNotFound(
        f"no Graphviz renderer found (looked for {' and '.join(RENDERERS)}): {INSTALL_HINT}"
    )


def pipe(source: str, fmt: str = "svg") -> bytes:
    """Render DOT source to the bytes of a picture in format `fmt` ("svg", "png", ...).

    TypeError where source is not text (a picture's is its `.source`) or fmt is not a str."""
    if not isinstance(source, str):
        hint = ": give its .source, pipe(picture.source)" if hasattr(source, "source") else ""
        raise TypeError(f"pipe(source): source must be DOT text, a str, got {got(source)}{hint}")
    if not isinstance(fmt, str):
        raise TypeError(
            f"pipe(source, fmt): fmt must be a picture format, like 'svg' or 'png', got {got(fmt)}"
        )
    if not fmt.isalnum():
        raise ValueError(f"bad picture format {fmt!r}: use svg or png")
    exe = find_renderer()
    if fmt != "svg" and Path(exe).name.startswith("graphviz-pure"):
        # graphviz-pure draws raster pictures in its own fonts, Helvetica's among them; a PNG
        # carries its font, so measuring and drawing in that one is exact
        source = source.replace(f'fontname="{FONT}"', f'fontname="{RASTER_FONT}"')
    with tempfile.TemporaryDirectory(prefix="microgradx-") as tmp:
        src = Path(tmp) / "graph.gv"
        src.write_text(source, encoding="utf-8")
        done = subprocess.run([exe, f"-T{fmt}", str(src)], capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OSError(f"{Path(exe).name} -T{fmt} failed: {message[0] if message else 'no output'}")
    if fmt == "svg":  # viewers without FONT fall back to fonts no wider than it
        return re.sub(
            rb'font-family="%s[^"]*"' % FONT.encode(), b'font-family="%s"' % FONT_FAMILY.encode(), done.stdout
        )
    return done.stdout


def render(graph: graphviz.Digraph | str, path: str | os.PathLike[str]) -> Path:
    """Write a graph (or DOT source) to `path`; the suffix picks the format.

    `.svg`, `.png`, `.jpg` are rendered; `.dot` and `.gv` get the DOT source, which
    needs no renderer. Missing folders on the way to `path` are made once the picture is
    rendered (a failed render leaves none behind). TypeError, at the call, for a graph that
    is neither a picture nor DOT text (a Value: render takes what draw returns) or a path
    that is not a str or Path.
    """
    source = graph if isinstance(graph, str) else getattr(graph, "source", None)
    if not isinstance(source, str):
        raise TypeError(
            f"render(graph, path): graph must be a picture (what draw returns) or DOT text, "
            f"got {got(graph)}; render(draw(f), path) draws a Value first"
        )
    path = file_path(path, "render(picture, path)", "the picture's file, like 'f.svg'")
    suffix = path.suffix.lower()
    if suffix in SOURCES or suffix in PICTURES:  # its folder made, or named if it cannot be, before the work
        writable_folder(path.parent, f"not writing {path}")
    if suffix in SOURCES:
        data = source.encode("utf-8")
    elif suffix in PICTURES:
        data = pipe(source, PICTURES[suffix])
    else:
        known = ", ".join([*PICTURES, *SOURCES])
        raise ValueError(f"cannot tell which picture to write from {str(path)!r}: end it with one of {known}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class Picture(graphviz.Digraph):
    """A `graphviz.Digraph` rendered by `find_renderer()`'s renderer.

    Everything that renders goes through `pipe`, so Jupyter's display (`_repr_mimebundle_`)
    works with only graphviz-pure installed; `.source` never needs a renderer.
    `description` says what the picture shows, for its repr.
    """

    description = ""
    # The node each slot of the drawn tape is in (n3 a box, L0 a layer's table), None where not
    # drawn: what the step-through page highlights for a step
    units: list[str | None] | None = None

    def __repr__(self) -> str:
        what = self.description or f"a graphviz picture, {self.source.count(chr(10))} lines of DOT"
        return (
            f"<Picture: {what}. Jupyter displays it; .render(outfile='f.svg') writes SVG or PNG; "
            ".source is its DOT text>"
        )

    def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any) -> Any:
        """The rendered picture as bytes (or text, given an encoding); layout is always `dot`."""
        data = pipe(self.source, format or self.format)
        return data.decode(encoding) if encoding else data

    def render(
        self,
        filename: str | os.PathLike[str] | None = None,
        directory: str | os.PathLike[str] | None = None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        *args: Any,
        outfile: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> str:
        """Like graphviz's render: save the source as `filename`, the picture as `filename.<format>`.

        With `outfile`, write just the picture there (format from its suffix). `view` is
        not supported here: open the file yourself.
        """
        if view:
            raise ValueError("Picture.render cannot open a viewer: open the written file yourself")
        if outfile is not None:
            return str(render(self, outfile))
        source_path = Path(directory or self.directory or "") / (filename or self.filename)
        fmt = format or self.format
        writable_folder(source_path.parent, f"not writing {source_path}")  # before the work, not after it
        picture = pipe(self.source, fmt)
        source_path.parent.mkdir(parents=True, exist_ok=True)  # as graphviz's own render does
        source_path.write_text(self.source, encoding="utf-8")
        out = source_path.with_name(f"{source_path.name}.{fmt}")
        out.write_bytes(picture)
        if cleanup:
            source_path.unlink()
        return str(out)
