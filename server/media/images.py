"""Image checks and derivatives with Pillow (pure: no database, no HTTP).

What arrives is identified by decoding it, never by its name or declared type.
Only a few raster formats are opened at all (Pillow is told which), so no other
decoder — and no external program such as Ghostscript for EPS — ever runs on
uploaded bytes. Decompression bombs are refused from the header, before any
pixel is decoded; a JPEG is verified and processed at reduced scale (`draft`),
so memory stays bounded by the output size, not the camera's.

The upload's check decodes every pixel (every scan of a JPEG) before anything is
stored. Where a job worker runs in the same process (the embedded worker, the
default), it decodes at the scale the web image needs and hands that decode over
(`DECODES`), so the job does not decode the photo a second time; elsewhere it
decodes at 1/8, the cheapest scale that still reads every scan. Pillow work runs
on a few threads kept for it (`in_pillow_thread`): one photo's steps all run on the
same thread, so its large, short-lived pixel buffers are recycled by one malloc
arena instead of piling up in one per thread.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageDraw, UnidentifiedImageError

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
#: Pillow's ``reducing_gap`` for both resizes: from 3.0 on, indistinguishable from
#: fair resampling.
REDUCING_GAP = 3.0

_T = TypeVar("_T")


class _PillowLanes:
    """Threads for Pillow work: one single-thread executor ("lane") per core (at most
    four), each job sent to the first idle lane. Work that comes one piece at a time
    (an upload's check, then its job) therefore always runs on the same thread, so
    its large pixel buffers are recycled by one malloc arena; a pool's spare threads
    would each keep an arena's worth of freed buffers resident (≈ 25 MB apiece).
    Concurrent work still spreads over the cores (Pillow releases the GIL)."""

    def __init__(self, lanes: int) -> None:
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fieldround-pillow-{i}") for i in range(lanes)
        ]
        self._pending = [0] * lanes
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        with self._lock:
            lane = min(range(len(self._lanes)), key=lambda i: (self._pending[i], i))
            self._pending[lane] += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._lanes[lane], functools.partial(fn, *args, **kwargs))
        finally:
            # Counted free when the caller resumes, so its next piece of work comes
            # back to this lane (a pool marks a thread idle only after that).
            with self._lock:
                self._pending[lane] -= 1


_PILLOW = _PillowLanes(min(4, os.cpu_count() or 1))


async def in_pillow_thread(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """Run Pillow work off the event loop, on the threads kept for it (`_PillowLanes`)."""
    return await _PILLOW.run(fn, *args, **kwargs)


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


@dataclass
class Decoded:
    """A whole image the check decoded at the scale its web image needs, for the job
    to make the derivatives from instead of decoding the file again. Owned by one
    holder at a time; ``close()`` frees the pixels."""

    image: Image.Image
    orientation: int
    #: The displayed size at full resolution (orientation applied), as in ImageInfo.
    width: int
    height: int
    #: The web scale it was decoded for (a different ``web_max`` decodes anew).
    web_max: int

    @property
    def nbytes(self) -> int:
        return _nbytes(self.image)

    def close(self) -> None:
        self.image.close()


@dataclass
class Checked:
    info: ImageInfo
    #: The decode, when the caller asked to keep it and it can be kept (else None);
    #: whoever holds it closes it or hands it on (and sets this to None).
    decoded: Decoded | None


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


def _displayed(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size as displayed: EXIF orientations 5–8 turn the image a quarter, so
    width and height swap."""
    width, height = size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _draft_box(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    scale = long_side / max(w, h)
    return max(1, int(w * scale)), max(1, int(h * scale))


def _decode_whole(im: Image.Image) -> None:
    """Decode every pixel (every scan of a JPEG): truncation and corruption show here.
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False, so missing data is an error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("corrupt", f"the image data is damaged or cut off: {exc}") from exc


def _nbytes(im: Image.Image) -> int:
    return im.width * im.height * (1 if im.mode in ("1", "L", "P") else 4)


def _drafted_bytes(size: tuple[int, int], box: tuple[int, int]) -> int:
    """What a JPEG drafted to ``box`` takes decoded (Pillow's choice of DCT scale:
    the largest of 1/8, 1/4, 1/2, 1 that still covers the box), as RGB."""
    ratio = min(size[0] // box[0], size[1] // box[1])
    scale = next((s for s in (8, 4, 2) if ratio >= s), 1)
    return -(-size[0] // scale) * -(-size[1] // scale) * 4


def check_image(path: Path, *, keep_for_web: int | None = None, keep_max_bytes: int = 0) -> Checked:
    """Identify the image in ``path`` and decode all of it (a JPEG at reduced scale:
    every scan is still read, only the IDCT output is smaller). Raises ImageRejected
    for anything that is not a whole, sane raster image.

    ``keep_for_web``: decode a JPEG at the scale a web image of that size needs (the
    same decode `make_derivatives` makes) and return it as ``decoded``, if it takes
    at most ``keep_max_bytes`` and holds no open file. Otherwise a JPEG is decoded
    at 1/8, the cheapest scale, and nothing is kept."""
    im = _open(path)
    kept = False
    try:
        fmt = str(im.format)
        orientation = _orientation(im)
        width, height = _displayed(im.size, orientation)
        keep = bool(keep_for_web)
        if fmt in JPEG_FORMATS:
            box = _draft_box(im.size, keep_for_web) if keep_for_web else None
            if box is None or _drafted_bytes(im.size, box) > keep_max_bytes:
                box, keep = _draft_box(im.size, max(1, max(im.size) // 8)), False
            im.draft("RGB", box)
        _decode_whole(im)
        info = ImageInfo(fmt, CONTENT_TYPES[fmt], width, height, orientation)
        # After load a single-frame image has closed its file; a GIF or a phone's
        # MPO keeps it open to reach its other frames: those are not kept.
        kept = keep and getattr(im, "fp", None) is None and _nbytes(im) <= keep_max_bytes
        if kept and keep_for_web:
            return Checked(info, Decoded(im, orientation, width, height, keep_for_web))
        return Checked(info, None)
    finally:
        if not kept:
            im.close()


def inspect_image(path: Path) -> ImageInfo:
    """`check_image` without keeping the decode."""
    return check_image(path).info


class DecodeCache:
    """Decodes handed from the upload's check to the photo job in the same process,
    by the original's storage key (which names the photo and its SHA-256).

    Purely an optimisation: the job decodes the file itself when the entry is not
    here (another process claimed the job, it waited too long, it was evicted), and
    the result is byte for byte the same. Bounded by bytes and age, oldest evicted
    first, so memory held between an upload and its job stays small."""

    def __init__(self, *, max_bytes: int, max_age_seconds: float) -> None:
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self._entries: OrderedDict[str, tuple[float, Decoded]] = OrderedDict()
        self._lock = threading.Lock()

    def offer(self, key: str, decoded: Decoded) -> None:
        """Keep ``decoded`` for the job (ownership passes to the cache)."""
        with self._lock:
            if (old := self._entries.pop(key, None)) is not None:
                old[1].close()
            self._entries[key] = (time.monotonic(), decoded)
            self._evict()

    def take(self, key: str) -> Decoded | None:
        """The decode kept under ``key``, or None (ownership passes to the caller)."""
        with self._lock:
            self._evict()
            entry = self._entries.pop(key, None)
        return entry[1] if entry is not None else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            while self._entries:
                self._entries.popitem(last=False)[1][1].close()

    def _evict(self) -> None:
        stale = time.monotonic() - self.max_age_seconds
        total = sum(d.nbytes for _, d in self._entries.values())
        while self._entries:
            since, oldest = next(iter(self._entries.values()))
            if since >= stale and total <= self.max_bytes:
                break
            self._entries.popitem(last=False)
            total -= oldest.nbytes
            oldest.close()


#: At most this much decoded pixels wait for jobs: one photo of up to 24 MP at its
#: web scale (12 MP: 2000×1500 ≈ 12 MB), or two of 12 MP; an older one is evicted
#: (its job then decodes the original). Larger photos are not kept at all.
KEEP_MAX_BYTES = 24 * 1024 * 1024
DECODES = DecodeCache(max_bytes=KEEP_MAX_BYTES, max_age_seconds=60)


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


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright_rgb(im: Image.Image, orientation: int) -> Image.Image:
    """The decoded image turned upright and flattened to RGB: a new image (the caller
    closes ``im`` to free it), or ``im`` itself when there is nothing to turn or
    convert (no copy). ``orientation`` is the value `_orientation` read, the one the
    recorded width and height follow, so pixels and row always agree (1 or an
    unreadable EXIF block: as decoded)."""
    method = _TRANSPOSE.get(orientation)
    return _flatten(im.transpose(method) if method is not None else im)


def make_derivatives(
    path: Path | None,
    *,
    web_max: int = WEB_MAX,
    thumb_max: int = THUMB_MAX,
    stamp: Sequence[str] | None = None,
    decoded: Decoded | None = None,
) -> Derivatives:
    """The ``web`` and ``thumb`` JPEGs of the image in ``path``, orientation applied,
    metadata dropped. The same picture whether made from ``decoded`` (the check's
    decode of this file, consumed; ``path`` may then be None) or by decoding the file
    anew: same size, pixels equal within JPEG rounding (byte-identical on this
    machine, but CI once produced two encodings of one photo, so nothing relies on
    the bytes; the original is the evidence).

    Each intermediate is released as soon as the next one exists (decode → upright
    → web), so at most two large buffers are alive at a time."""
    im: Any = None
    web: Image.Image | None = None
    small: Image.Image | None = None
    try:
        if decoded is not None and decoded.web_max == web_max:
            im, orientation, full_w, full_h = decoded.image, decoded.orientation, decoded.width, decoded.height
        else:
            if decoded is not None:
                decoded.close()
            if path is None:
                raise ValueError("make_derivatives needs the file when no usable decode is given")
            im = _open(path)
            orientation = _orientation(im)
            full_w, full_h = _displayed(im.size, orientation)
            if str(im.format) in JPEG_FORMATS:
                im.draft("RGB", _draft_box(im.size, web_max))
            _decode_whole(im)
        web = _upright_rgb(im, orientation)
        if web is not im:
            im.close()
        web.thumbnail((web_max, web_max), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        small = web.copy()
        small.thumbnail((thumb_max, thumb_max), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        if stamp:
            web = draw_stamp(web, stamp)
        return Derivatives(web=_jpeg(web), thumb=_jpeg(small), width=full_w, height=full_h)
    finally:
        for each in (im, web, small):
            if each is not None:
                each.close()
