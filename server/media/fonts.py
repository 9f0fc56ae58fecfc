"""The CJK font for text drawn on images and PDFs: a subset of WenQuanYi Micro Hei
(文泉驿微米黑, Apache-2.0 or GPL-3 with font exception) shipped in font_files/,
holding GB2312 (all 6,763 hanzi), ASCII, Latin-1, CJK and full-width punctuation.
A character outside it is drawn as an empty box; see font_files/README.md."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_PATH = Path(__file__).resolve().parent / "font_files" / "wqy-microhei-gb2312.ttf"


def cjk_font_path() -> Path:
    if not FONT_PATH.is_file():
        raise RuntimeError(
            f"the CJK font {FONT_PATH} is missing; it ships with the source tree (server/media/font_files/)"
        )
    return FONT_PATH


@lru_cache(maxsize=32)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size)
