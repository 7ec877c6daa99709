"""One self-contained HTML page: plotly.js inline once, every figure as a div, no link
or script that loads anything from the network (the file opens offline, from mail too).

Pure: strings in, a string out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: .2rem; } .sub { color: #666; margin-top: 0; }
section { margin: 2rem 0; } .note { color: #666; font-style: italic; }
table.fresh { border-collapse: collapse; } table.fresh td { padding: .2rem 1rem .2rem 0; }
table.fresh td:first-child { color: #666; }
"""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    figure: Any | None
    """A plotly Figure, or None: then ``note`` is shown instead."""
    note: str = ""


def figure_div(section: Section) -> str:
    if section.figure is None:
        return f'<p class="note">{escape(section.note)}</p>'
    return str(
        pio.to_html(
            section.figure,
            include_plotlyjs=False,
            full_html=False,
            div_id=f"figure-{section.key}",
            config=CONFIG,
        )
    )


def page(
    title: str,
    subtitle: str,
    sections: Sequence[Section],
    freshness: Sequence[tuple[str, str]],
) -> str:
    body = "\n".join(
        f'<section id="{escape(s.key)}"><h2>{escape(s.title)}</h2>\n{figure_div(s)}</section>'
        for s in sections
    )
    rows = "\n".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in freshness)
    # "</script" cannot occur inside plotly.min.js, but be sure the inline copy cannot end early
    js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n"
        f'<script type="text/javascript">{js}</script>\n</head><body>\n'
        f'<h1>{escape(title)}</h1>\n<p class="sub">{escape(subtitle)}</p>\n{body}\n'
        f'<section id="freshness"><h2>Data freshness</h2>\n<table class="fresh">\n{rows}\n'
        "</table></section>\n</body></html>\n"
    )
