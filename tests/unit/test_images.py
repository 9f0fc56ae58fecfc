"""Pure image checks and derivatives on the real-world fixture photos."""

from __future__ import annotations

import io
import resource
from pathlib import Path

import pytest
from PIL import Image

from server.media.images import (
    KEEP_MAX_BYTES,
    WEB_MAX,
    DecodeCache,
    Decoded,
    ImageRejected,
    check_image,
    draw_stamp,
    in_pillow_thread,
    inspect_image,
    make_derivatives,
    sniff_unsupported,
)

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


# --- The check's decode handed to the job (same process), and the Pillow threads ---

KEEP = {"keep_for_web": WEB_MAX, "keep_max_bytes": KEEP_MAX_BYTES}


def _camera_jpeg(path: Path, size: tuple[int, int] = (4000, 3000), orientation: int = 6) -> Path:
    """A camera-like JPEG (noise, EXIF orientation and GPS) big enough to be drafted."""
    im = Image.merge("RGB", [Image.effect_noise(size, 40 + 10 * i) for i in range(3)])
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 37.0, 39.5)})
    im.save(path, "JPEG", quality=90, exif=exif)
    return path


@pytest.mark.parametrize("name", VALID)
def test_handed_over_decode_gives_the_same_derivatives(name: str) -> None:
    checked = check_image(FIXTURES / name, **KEEP)
    assert checked.info == inspect_image(FIXTURES / name)
    assert checked.decoded is not None  # single-frame and small: kept
    from_check = make_derivatives(FIXTURES / name, decoded=checked.decoded, stamp=["时间 2026-11-26 10:00"])
    anew = make_derivatives(FIXTURES / name, stamp=["时间 2026-11-26 10:00"])
    assert from_check == anew


def test_a_camera_photo_is_decoded_once(tmp_path: Path) -> None:
    path = _camera_jpeg(tmp_path / "cam.jpg")
    checked = check_image(path, **KEEP)
    assert checked.decoded is not None
    assert checked.decoded.image.size == (2000, 1500)  # the web scale (1/2), not 1/8
    assert (checked.info.width, checked.info.height) == (3000, 4000)
    made = make_derivatives(None, decoded=checked.decoded)  # the file is not needed
    assert made == make_derivatives(path)
    assert Image.open(io.BytesIO(made.web)).size == (1200, 1600)


def test_without_keeping_the_check_decodes_at_one_eighth(tmp_path: Path) -> None:
    path = _camera_jpeg(tmp_path / "cam.jpg")
    assert check_image(path).decoded is None
    # Too large to keep (or a limit of 0): decoded at 1/8, nothing kept, still checked whole.
    assert check_image(path, keep_for_web=WEB_MAX, keep_max_bytes=1000).decoded is None
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    for kwargs in ({}, KEEP, {"keep_for_web": WEB_MAX, "keep_max_bytes": 1000}):
        with pytest.raises(ImageRejected) as err:
            check_image(cut, **kwargs)
        assert err.value.reason == "corrupt"


@pytest.mark.parametrize(("name", "reason"), REJECTED.items())
def test_rejected_fixtures_when_keeping_the_decode(name: str, reason: str) -> None:
    with pytest.raises(ImageRejected) as err:
        check_image(FIXTURES / name, **KEEP)
    assert err.value.reason == reason


def test_truncated_images_are_never_loaded() -> None:
    from PIL import ImageFile

    import server.media.processing  # noqa: F401  (everything that touches Pillow is imported)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def _decoded(side: int) -> Decoded:
    return Decoded(Image.new("RGB", (side, side)), 1, side, side, WEB_MAX)


def test_decode_cache_is_bounded_by_bytes_and_age() -> None:
    cache = DecodeCache(max_bytes=3 * 100 * 100 * 4, max_age_seconds=60)
    a, b, c, d = (_decoded(100) for _ in range(4))
    for key, item in (("a", a), ("b", b), ("c", c), ("d", d)):
        cache.offer(key, item)
    assert cache.take("a") is None  # the oldest went to make room …
    with pytest.raises(ValueError):
        a.image.getpixel((0, 0))  # … and its pixels were freed
    assert cache.take("b") is b and cache.take("b") is None  # taken once: the taker owns it
    cache.max_age_seconds = 0
    assert cache.take("c") is None and cache.take("d") is None  # too old: dropped
    cache.clear()


async def test_pillow_work_in_sequence_stays_on_one_thread() -> None:
    import threading

    threads = {await in_pillow_thread(threading.get_ident) for _ in range(20)}
    assert len(threads) == 1 and threading.get_ident() not in threads
