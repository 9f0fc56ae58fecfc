"""QR encoding and single labels, each decoded by zxing-cpp (a reader we did not write)."""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

from server.lib.ids import new_code
from server.qr.codes import BatchEncoder, encode, place_url, runs
from server.qr.render import QUIET, fit_text, label_png, label_svg


def _decode(im: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(im)]


def _matrix_image(matrix: list[list[bool]], scale: int = 4) -> Image.Image:
    n = len(matrix) + 2 * QUIET
    im = Image.new("L", (n * scale, n * scale), 255)
    d = ImageDraw.Draw(im)
    for x, y, length in runs(matrix):
        d.rectangle(
            ((x + QUIET) * scale, (y + QUIET) * scale, (x + QUIET + length) * scale - 1, (y + QUIET + 1) * scale - 1),
            fill=0,
        )
    return im


def test_place_url() -> None:
    assert place_url("https://wy.example.cn/", "U4K7QX2MB") == "https://wy.example.cn/q/U4K7QX2MB"


def test_error_correction_is_m_or_better() -> None:
    url = place_url("http://testserver.local", "F4K7QX2MB")
    [result] = zxingcpp.read_barcodes(_matrix_image(encode(url)[0]))
    assert result.text == url
    assert result.ec_level in {"M", "Q", "H"}


def test_batch_encoder_reuses_mask_and_every_symbol_decodes() -> None:
    encoder = BatchEncoder()
    urls = [place_url("http://testserver.local", new_code(p)) for p in "UAF" * 40]
    urls += [place_url("https://wuye.example.com.cn", new_code("U")) for _ in range(10)]
    for url in urls:
        assert _decode(_matrix_image(encoder.encode(url))) == [url]
    assert len(encoder._chosen) == 2  # one choice per length


def test_runs_cover_exactly_the_dark_modules() -> None:
    matrix = encode("http://x/q/U4K7QX2MB")[0]
    dark = {(x, y) for y, row in enumerate(matrix) for x, v in enumerate(row) if v}
    covered = {(x + i, y) for x, y, n in runs(matrix) for i in range(n)}
    assert covered == dark


def test_png_label_decodes_and_carries_text() -> None:
    url = place_url("http://testserver.local", "U4K7QX2MB")
    png = label_png(encode(url)[0], "1号楼1单元101室", "U4K7QX2MB")
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.height > im.width  # text under the symbol
    assert _decode(im) == [url]
    text_band = im.crop((0, im.width, im.width, im.height))
    assert text_band.getextrema()[0] < 128  # something is printed there


def test_svg_label_path_rebuilds_a_decodable_symbol() -> None:
    url = place_url("http://testserver.local", "A4K7QX2MB")
    matrix = encode(url)[0]
    svg = label_svg(matrix, "中心绿地 <Central> & green", "A4K7QX2MB")
    assert "&lt;Central&gt; &amp; green" in svg and "A4K7QX2MB" in svg
    d = re.search(r'<path d="([^"]+)"', svg)
    assert d is not None
    n = len(matrix) + 2 * QUIET
    scale = 4
    im = Image.new("L", (n * scale, n * scale), 255)
    draw = ImageDraw.Draw(im)
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", d.group(1)):
        x0, y0 = int(x) * scale, int(y) * scale
        draw.rectangle((x0, y0, x0 + int(length) * scale - 1, y0 + scale - 1), fill=0)
    assert _decode(im) == [url]


def test_fit_text_cuts_with_ellipsis() -> None:
    assert fit_text("短", 100, len) == "短"
    assert fit_text("一二三四五六七八九十", 5, len) == "一二三四…"
