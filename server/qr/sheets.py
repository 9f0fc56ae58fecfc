"""Printable A4 label sheets (PDF, reportlab): a grid of labels with cut marks,
each with its QR symbol (vector), the place's name and its code.

The CJK font is embedded (subset) so the sheet prints the same everywhere. A
sheet of 500 labels is drawn in about a second; see docs/performance.md.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from server.media.fonts import cjk_font_path
from server.qr.codes import BatchEncoder, runs
from server.qr.render import QUIET, fit_text

# Compressed streams stay binary (no ASCII85 wrapping): smaller and quicker, and
# every PDF reader takes them. FieldRound makes no other PDFs with reportlab.
rl_config.useA85 = 0

FONT = "FieldRoundCJK"
COLUMNS = 3
ROWS = 4
PER_PAGE = COLUMNS * ROWS
MARGIN_X = 15 * mm
MARGIN_Y = 15 * mm
CUT = 4 * mm  # length of a cut mark


@dataclass(frozen=True)
class LabelSpec:
    url: str
    title: str
    code: str
    subtitle: str = ""


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(cjk_font_path())))


def _cut_marks(c: Canvas, cell_w: float, cell_h: float) -> None:
    """Short marks in the margins at every column and row boundary, and small
    crosses where inner boundaries meet: cut along them with a guillotine."""
    c.setLineWidth(0.3)
    c.setStrokeGray(0.4)
    page_h = A4[1]
    xs = [MARGIN_X + i * cell_w for i in range(COLUMNS + 1)]
    ys = [page_h - MARGIN_Y - j * cell_h for j in range(ROWS + 1)]
    for x in xs:
        c.line(x, page_h - MARGIN_Y + 2 * mm, x, page_h - MARGIN_Y + 2 * mm + CUT)
        c.line(x, ys[-1] - 2 * mm, x, ys[-1] - 2 * mm - CUT)
    for y in ys:
        c.line(MARGIN_X - 2 * mm, y, MARGIN_X - 2 * mm - CUT, y)
        c.line(xs[-1] + 2 * mm, y, xs[-1] + 2 * mm + CUT, y)
    for x in xs[1:-1]:
        for y in ys[1:-1]:
            c.line(x - 1.5 * mm, y, x + 1.5 * mm, y)
            c.line(x, y - 1.5 * mm, x, y + 1.5 * mm)


def render_sheet(
    labels: Iterable[LabelSpec],
    *,
    title: str = "",
    on_label: Callable[[int], None] | None = None,
) -> bytes:
    """The PDF of all ``labels``, twelve an A4 page. ``on_label(i)`` after each one."""
    _register_font()
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, pageCompression=1, invariant=1)
    c.setTitle(title or "FieldRound QR labels 二维码标签")
    c.setCreator("FieldRound")
    page_w, page_h = A4
    cell_w = (page_w - 2 * MARGIN_X) / COLUMNS
    cell_h = (page_h - 2 * MARGIN_Y) / ROWS
    qr_side = min(cell_w, cell_h - 18 * mm) - 4 * mm
    encoder = BatchEncoder()
    i = -1
    for i, label in enumerate(labels):
        slot = i % PER_PAGE
        if slot == 0:
            if i:
                c.showPage()
            _cut_marks(c, cell_w, cell_h)
            if title:
                c.setFont(FONT, 8)
                c.setFillGray(0.3)
                c.drawString(MARGIN_X, MARGIN_Y / 2, f"{title} — {i // PER_PAGE + 1}")
        col, row = slot % COLUMNS, slot // COLUMNS
        x0 = MARGIN_X + col * cell_w
        y_top = page_h - MARGIN_Y - row * cell_h
        matrix = encoder.encode(label.url)
        n = len(matrix) + 2 * QUIET
        module = qr_side / n
        qx = x0 + (cell_w - qr_side) / 2
        qy = y_top - 2 * mm - qr_side
        c.setFillGray(0)
        # The symbol in its own coordinates (one unit = one module), as one filled
        # path of integer rectangles: exact, and far quicker than a float per corner.
        c.saveState()
        c.transform(module, 0, 0, module, qx, qy)
        c.addLiteral(_symbol_path(matrix, n))
        c.restoreState()
        center = x0 + cell_w / 2
        width = cell_w - 6 * mm
        c.setFont(FONT, 10)
        c.drawCentredString(center, qy - 4 * mm, fit_text(label.title, width, _measure(10)))
        if label.subtitle:
            c.setFont(FONT, 7)
            c.drawCentredString(center, qy - 8 * mm, fit_text(label.subtitle, width, _measure(7)))
        c.setFont(FONT, 12)
        c.drawCentredString(center, qy - 13 * mm, label.code)
        if on_label is not None:
            on_label(i)
    if i < 0:
        c.setFont(FONT, 12)
        c.drawString(MARGIN_X, page_h - MARGIN_Y - 12, "没有可打印的标签 No labels to print")
    c.showPage()
    c.save()
    return out.getvalue()


def _symbol_path(matrix: list[list[bool]], n: int) -> str:
    # PDF y grows upwards; the symbol's row 0 is its top.
    ops = [f"{x + QUIET} {n - QUIET - y - 1} {length} 1 re" for x, y, length in runs(matrix)]
    ops.append("f")
    return "\n".join(ops)


def _measure(size: float) -> Callable[[str], float]:
    return lambda text: pdfmetrics.stringWidth(text, FONT, size)
