"""Image checks and derivatives with Pillow (pure: no database, no HTTP).

What arrives is identified by decoding it, never by its name or declared type.
Only a few raster formats are opened at all (Pillow is told which), so no other
decoder — and no external program such as Ghostscript for EPS — ever runs on
uploaded bytes. Decompression bombs are refused from the header, before any
pixel is decoded; a JPEG is verified and processed at reduced scale (`draft`),
so memory stays bounded by the output size, not the camera's.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

#: Pillow format name → the content type we record (MPO is a phone's multi-picture JPEG).
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
JPEG_FORMATS = frozenset({"JPEG", "MPO"})
#: The decoders Pillow may try (its JPEG opener returns MPO files itself).
OPEN_FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
#: A JPEG is decoded at reduced scale, so a large one is affordable (50 MP phones).
MAX_JPEG_PIXELS = 52_000_000
#: Other formats decode at full size: at most 24 MP (≈ 96 MB as RGBA).
MAX_OTHER_PIXELS = 24_000_000
WEB_MAX = 1600
THUMB_MAX = 320
JPEG_QUALITY = 85

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


class ImageRejected(Exception):
    """The bytes are not a photo we accept. ``reason`` is a stable slug."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    #: Size as displayed, after the EXIF orientation is applied.
    width: int
    height: int
    orientation: int


@dataclass(frozen=True)
class Derivatives:
    web: bytes
    thumb: bytes
    width: int
    height: int


def sniff_unsupported(head: bytes) -> ImageRejected | None:
    """Name formats we refuse on purpose, so the message can say which (HEIC, SVG …)."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return ImageRejected(
                "heic",
                "HEIC/HEIF photos are not accepted; send JPEG (on iPhone/iPad: Settings → Camera → Formats → "
                "Most Compatible). 不接受 HEIC 格式照片，请使用 JPEG。",
            )
        if brand in _AVIF_BRANDS:
            return ImageRejected("avif", "AVIF images are not accepted; send JPEG. 不接受 AVIF 格式，请使用 JPEG。")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) or b"<svg" in text[:1024]:
        return ImageRejected("svg", "SVG and other vector images are not accepted: a photo must be a raster image.")
    if text.startswith(b"%pdf"):
        return ImageRejected("pdf", "PDF documents are not accepted: a photo must be a JPEG, PNG or WebP image.")
    return None


def _pixel_limit(fmt: str) -> int:
    return MAX_JPEG_PIXELS if fmt in JPEG_FORMATS else MAX_OTHER_PIXELS


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # malformed EXIF is common in the field; orientation then defaults
        return 1


def _open(path: Path) -> Image.Image:
    """Open with only our formats enabled; bombs and unreadable bytes become ImageRejected."""
    with path.open("rb") as fh:
        head = fh.read(2048)
    sniffed = sniff_unsupported(head)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path, formats=OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too-many-pixels", f"image is too large to process safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise sniffed or ImageRejected(
            "not-an-image", "the bytes are not a JPEG, PNG, WebP or GIF image 文件不是可识别的图片"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt", f"the image cannot be read: {exc}") from exc
    width, height = im.size
    if width < 1 or height < 1 or width * height > _pixel_limit(str(im.format)):
        im.close()
        raise ImageRejected(
            "too-many-pixels",
            f"image of {width}×{height} pixels exceeds the limit of {_pixel_limit(str(im.format)):,} pixels",
        )
    return im


def _draft_box(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    scale = long_side / max(w, h)
    return max(1, int(w * scale)), max(1, int(h * scale))


def inspect_image(path: Path) -> ImageInfo:
    """Identify and fully decode (at reduced scale for JPEG) the image in ``path``.

    Raises ImageRejected for anything that is not a whole, sane raster image."""
    im = _open(path)
    try:
        fmt = str(im.format)
        orientation = _orientation(im)
        width, height = im.size
        if fmt in JPEG_FORMATS:
            # Decode every scan at 1/8 scale: truncation and corruption still show.
            im.draft("RGB", _draft_box(im.size, max(1, max(im.size) // 8)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected("corrupt", f"the image data is damaged or cut off: {exc}") from exc
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(fmt, CONTENT_TYPES[fmt], width, height, orientation)
    finally:
        im.close()


def _flatten(im: Image.Image) -> Image.Image:
    """RGB for a JPEG: transparency onto white, CMYK and palettes converted."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L") if im.mode != "I" else im.convert("L")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return im


def _jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    # No exif=, no icc_profile=: the derivative carries no GPS, device or other metadata.
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return out.getvalue()


def draw_stamp(im: Image.Image, lines: Sequence[str]) -> Image.Image:
    """Draw the evidence stamp (time, place, inspector) in the lower-left corner."""
    from server.media.fonts import cjk_font

    lines = [line for line in lines if line]
    if not lines:
        return im
    size = max(14, im.width // 45)
    font = cjk_font(size)
    pad = size // 2
    line_h = int(size * 1.35)
    text_w = max(int(font.getlength(line)) for line in lines)
    box_h = line_h * len(lines) + pad * 2
    top = im.height - box_h
    overlay = Image.new("RGBA", (min(im.width, text_w + pad * 2), box_h), (0, 0, 0, 140))
    im.paste(overlay, (0, top), overlay)
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(lines):
        draw.text((pad, top + pad + i * line_h), line, font=font, fill=(255, 255, 255))
    return im


def make_derivatives(
    path: Path, *, web_max: int = WEB_MAX, thumb_max: int = THUMB_MAX, stamp: Sequence[str] | None = None
) -> Derivatives:
    """The ``web`` and ``thumb`` JPEGs of the image in ``path``, orientation applied,
    metadata dropped. Deterministic: the same input gives the same bytes."""
    im: Any = _open(path)
    try:
        fmt = str(im.format)
        orientation = _orientation(im)
        full_w, full_h = im.size
        if fmt in JPEG_FORMATS:
            im.draft("RGB", _draft_box(im.size, web_max))
        try:
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageRejected("corrupt", f"the image data is damaged or cut off: {exc}") from exc
        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # a broken EXIF block must not lose the photo
            oriented = im
        if orientation in (5, 6, 7, 8):
            full_w, full_h = full_h, full_w
        rgb = _flatten(oriented)
        web = rgb if rgb is not im else rgb.copy()
        web.thumbnail((web_max, web_max), Image.Resampling.LANCZOS, reducing_gap=3.0)
        thumb = web.copy()
        thumb.thumbnail((thumb_max, thumb_max), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if stamp:
            web = draw_stamp(web, stamp)
        return Derivatives(web=_jpeg(web), thumb=_jpeg(thumb), width=full_w, height=full_h)
    finally:
        im.close()
