"""Seeing backprop: pictures of graphs and tapes, and a step-through page of the sweeps.

`draw(root)` and `draw_tape(tape)` return `graphviz.Digraph`s that display in Jupyter
and render with the system `dot` or the pip-installed `graphviz-pure`;
`explore(root, "backprop.html")` writes a page that steps through both sweeps.
"""

from .explore import explore
from .graph import draw
from .render import Picture, RendererNotFound, find_renderer, pipe, render
from .tapeview import draw_tape

__all__ = ["draw", "draw_tape", "explore", "render", "pipe", "find_renderer", "Picture", "RendererNotFound"]
