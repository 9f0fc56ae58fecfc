"""Pure image checks and derivatives on the real-world fixture photos."""

from __future__ import annotations

import io
import resource
from pathlib import Path

import pytest
from PIL import Image

from server.media.images import ImageRejected, draw_stamp, inspect_image, make_derivatives, sniff_unsupported

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "photos"

VALID = {
    "pixel6_gps_portrait.jpg": (1512, 2688, 1),
    "xiaomi_orientation6_empty_gps.jpg": (10, 10, 6),
    "orientation8_rect_2x1.jpg": (1, 2, 8),
    "hopper_orientation6.jpg": (128, 128, 6),
    "hopper_orientation3.jpg": (128, 128, 3),
    "gps_malformed.jpg": (8, 8, 1),
    "cmyk.jpg": (100, 100, 1),
    "progressive.jpg": (256, 160, 1),
    "transparent_rgba.png": (200, 150, 1),
}
REJECTED = {
    "pixel6_gps_truncated.jpg": "corrupt",
    "truncated_progressive.jpg": "corrupt",
    "decompression_bomb.gif": "too-many-pixels",
}


@pytest.mark.parametrize(("name", "expected"), VALID.items())
def test_valid_fixtures(name: str, expected: tuple[int, int, int]) -> None:
    info = inspect_image(FIXTURES / name)
    assert (info.width, info.height, info.orientation) == expected
    made = make_derivatives(FIXTURES / name)
    assert (made.width, made.height) == expected[:2]
    for data, limit in ((made.web, 1600), (made.thumb, 320)):
        im = Image.open(io.BytesIO(data))
        assert im.format == "JPEG" and im.mode == "RGB"
        assert max(im.size) <= limit
        assert len(im.getexif()) == 0 and "icc_profile" not in im.info
        # Orientation applied: the aspect matches the displayed size.
        if expected[0] != expected[1]:
            assert (im.width > im.height) == (expected[0] > expected[1])


def test_derivatives_are_deterministic() -> None:
    a = make_derivatives(FIXTURES / "hopper_orientation6.jpg")
    b = make_derivatives(FIXTURES / "hopper_orientation6.jpg")
    assert (a.web, a.thumb) == (b.web, b.thumb)


@pytest.mark.parametrize(("name", "reason"), REJECTED.items())
def test_rejected_fixtures(name: str, reason: str) -> None:
    with pytest.raises(ImageRejected) as err:
        inspect_image(FIXTURES / name)
    assert err.value.reason == reason


def test_bomb_is_refused_from_its_header_with_bounded_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(20):
        with pytest.raises(ImageRejected):
            inspect_image(FIXTURES / "decompression_bomb.gif")
        with pytest.raises(ImageRejected):
            make_derivatives(FIXTURES / "decompression_bomb.gif")
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000  # 65535×66601 pixels would be 4 GB; nothing near was allocated


def test_too_many_pixels_png(tmp_path: Path) -> None:
    """A PNG over the 24 MP budget is refused before decoding (Pillow only reads the header)."""
    path = tmp_path / "big.png"
    Image.new("1", (6000, 5000)).save(path)  # 30 MP, a tiny file
    with pytest.raises(ImageRejected) as err:
        inspect_image(path)
    assert err.value.reason == "too-many-pixels"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "avif"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        (b'\xef\xbb\xbf<?xml version="1.0"?><svg/>', "svg"),
        (b"%PDF-1.7", "pdf"),
    ],
)
def test_sniffing_names_refused_formats(head: bytes, reason: str, tmp_path: Path) -> None:
    rejected = sniff_unsupported(head)
    assert rejected is not None and rejected.reason == reason
    path = tmp_path / "upload.jpg"  # the name says JPEG: it does not matter
    path.write_bytes(head + b"\x00" * 64)
    with pytest.raises(ImageRejected) as err:
        inspect_image(path)
    assert err.value.reason == reason


def test_other_formats_pillow_knows_are_not_opened(tmp_path: Path) -> None:
    """BMP, TIFF, EPS … are not on the list: not decoded at all."""
    path = tmp_path / "x.bmp"
    Image.new("RGB", (10, 10)).save(path, "BMP")
    with pytest.raises(ImageRejected) as err:
        inspect_image(path)
    assert err.value.reason == "not-an-image"
    eps = tmp_path / "x.eps"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    with pytest.raises(ImageRejected):
        inspect_image(eps)


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (120, 80, 40)).save(path, quality=80)
    made = make_derivatives(path)
    assert (made.width, made.height) == (4000, 3000)
    assert Image.open(io.BytesIO(made.web)).size == (1600, 1200)
    assert Image.open(io.BytesIO(made.thumb)).size == (320, 240)


def test_stamp_draws_in_the_corner() -> None:
    im = Image.new("RGB", (800, 600), (255, 255, 255))
    draw_stamp(im, ["时间 2026-11-26 10:00", "地点 F4K7QX2MB", "检查人 张强"])
    assert im.getpixel((5, 595)) != (255, 255, 255)
    assert im.getpixel((795, 5)) == (255, 255, 255)
