"""Self-contained HTML pieces (images embedded as base64) for the evaluation report and the experiments' pages."""
from __future__ import annotations

import base64
import html
from pathlib import Path

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child{text-align:left}img{max-width:100%;margin:4px}
.note{color:#555;font-size:.9em}figure{display:inline-block;margin:0 8px;vertical-align:top}
figcaption{font-size:.85em;color:#444}"""


def html_image(path: Path, caption: str, width: int | None = None) -> str:
    if not path.is_file():
        return f"<p class=note>({html.escape(path.name)} missing)</p>"
    data = base64.b64encode(path.read_bytes()).decode()
    w = f' width="{width}"' if width else ""
    return (f'<figure><img src="data:image/png;base64,{data}"{w} alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


class Raw(str):
    """A table cell that is already HTML."""


def html_thumb(path: Path, alt: str, height: int = 40) -> str:
    """An inline image for a table cell (embedded), or a note when the file is missing."""
    if not path.is_file():
        return "(missing)"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" height="{height}" alt="{html.escape(alt)}">'


def html_table(head: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, Raw):
            return v
        if isinstance(v, float):
            return f"{v:.4f}"
        return html.escape(str(v))
    out = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    for r in rows:
        out += "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>"
    return out + "</table>"


def html_page(title: str, body: str) -> str:
    """A whole self-contained page: the shared style, the title, the body."""
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
