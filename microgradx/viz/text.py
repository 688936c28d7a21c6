"""Text in pictures: any label shown as written, safely, in the fonts the layout was measured with.

Labels go into Graphviz's HTML-like labels, so a label is data, never markup: `&`, `<`,
`>` and quotes are escaped; a newline starts a new line; a tab becomes spaces; NUL and the
other control characters, which XML and SVG cannot hold, are shown by their Unicode
pictures (NUL as ␀); a lone surrogate, which UTF-8 cannot hold, as �. Long lines are
wrapped (every character kept), so no line of the DOT source nears the 16,384-byte limit
of the system `dot`'s scanner, and a label beyond LABEL_LIMIT characters is cut, saying
how many characters it leaves out.

The layout is measured in FONT: graphviz-pure has its metrics built in and the system `dot`
finds it through fontconfig. SVG viewers that lack it fall back, in FONT_FAMILY's order,
to fonts no wider (Verdana has its widths; Arial and Helvetica are narrower), so text
stays inside its boxes whatever font draws it. A PNG carries its font: graphviz-pure
draws one in RASTER_FONT, which it measures with the same metrics.
"""

from __future__ import annotations

import re
from html import escape

FONT = "DejaVu Sans"
FONT_FAMILY = "DejaVu Sans,Bitstream Vera Sans,Verdana,Arial,Helvetica,sans-serif"
RASTER_FONT = "Helvetica"  # PNG and JPEG from graphviz-pure, which draws them in its own fonts
FONT_SIZE = 11  # points, for node text; the key and table cells are smaller
SMALL = 9
WRAP = 60  # characters a line in a label before it wraps
LABEL_LIMIT = 20_000  # characters of one label shown; the rest is counted, not drawn

CONTROL = {c: chr(0x2400 + c) for c in range(0x20)}  # ␀ ␁ … ␟: the control pictures
CONTROL[0x7F] = "\u2421"  # ␡
CONTROL[ord("\t")] = "    "
CONTROL[ord("\r")] = ""  # a \r\n line end is one break
SURROGATE = re.compile("[\ud800-\udfff]")
OTHER_INVISIBLE = re.compile("[\x80-\x9f]")  # C1 controls: shown as their code
SHOWN = str.maketrans({k: v for k, v in CONTROL.items() if k != ord("\n")})  # visible's table, made once


def visible(text: str) -> str:
    """The label's characters as they can be drawn: control characters as their pictures, \\n kept."""
    text = SURROGATE.sub("\ufffd", text)
    text = OTHER_INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
    return text.translate(SHOWN)


def lines(text: str, wrap: int = WRAP) -> list[str]:
    """A label as the lines it is drawn in: its own line breaks, and long lines wrapped."""
    if len(text) > LABEL_LIMIT:
        text = text[:LABEL_LIMIT] + f" … ({len(text) - LABEL_LIMIT:,} more characters)"
    out = []
    for line in visible(text).split("\n"):
        out.extend(line[k : k + wrap] for k in range(0, max(len(line), 1), wrap))
    return out


def html(text: str, wrap: int = WRAP) -> str:
    """A label as the body of an HTML-like label: escaped, broken into lines with <br/>.

    The break is written `<br\\n/>`: the newline sits inside the tag, so it ends the DOT
    source line (keeping lines short for `dot`'s scanner) without adding a space.
    """
    return "<br\n/>".join(escape(line, quote=True) for line in lines(text, wrap))
