"""A single label as PNG or SVG: the QR symbol with its quiet zone, the place's
Chinese name and its code printed under it (pure)."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw

from server.media.fonts import cjk_font
from server.qr.codes import Matrix, runs

QUIET = 4  # modules of white around the symbol (the standard's minimum)


def fit_text(text: str, width: float, measure: object, limit: int = 60) -> str:
    """Cut ``text`` with an ellipsis so that ``measure(text) <= width``."""
    assert callable(measure)
    text = text[:limit]
    if measure(text) <= width:
        return text
    while text and measure(text + "…") > width:
        text = text[:-1]
    return text + "…"


def label_png(matrix: Matrix, title: str, code: str, *, scale: int = 8) -> bytes:
    """A grey-scale PNG: the symbol at ``scale`` pixels a module, then name and code."""
    n = len(matrix)
    side = (n + 2 * QUIET) * scale
    title_font = cjk_font(max(12, side // 14))
    code_font = cjk_font(max(14, side // 11))
    text_h = int(title_font.size * 1.5 + code_font.size * 1.5) + scale
    im = Image.new("L", (side, side + text_h), 255)
    draw = ImageDraw.Draw(im)
    for x, y, length in runs(matrix):
        x0, y0 = (x + QUIET) * scale, (y + QUIET) * scale
        draw.rectangle((x0, y0, x0 + length * scale - 1, y0 + scale - 1), fill=0)
    title = fit_text(title, side - 2 * scale, title_font.getlength)
    y = side - scale
    draw.text((side / 2, y), title, font=title_font, fill=0, anchor="ma")
    draw.text((side / 2, y + title_font.size * 1.5), code, font=code_font, fill=0, anchor="ma")
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False)
    return out.getvalue()


def label_svg(matrix: Matrix, title: str, code: str, *, module_mm: float = 1.2) -> str:
    """An SVG in millimetres: the symbol as one path, name and code as text."""
    n = len(matrix)
    side = n + 2 * QUIET
    text_h = 9
    d = "".join(f"M{x + QUIET} {y + QUIET}h{length}v1h-{length}z" for x, y, length in runs(matrix))
    width_mm = side * module_mm
    height_mm = (side + text_h) * module_mm
    font = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm:.1f}mm" height="{height_mm:.1f}mm" '
        f'viewBox="0 0 {side} {side + text_h}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side + text_h}" fill="#fff"/>'
        f'<path d="{d}" fill="#000"/>'
        f'<text x="{side / 2}" y="{side + 2}" font-family="{font}" font-size="3" text-anchor="middle">'
        f"{escape(title[:60])}</text>"
        f'<text x="{side / 2}" y="{side + 6.5}" font-family="{font}" font-size="3.6" text-anchor="middle" '
        f'font-weight="bold" letter-spacing="0.3">{escape(code)}</text>'
        "</svg>"
    )
