"""Photo ingest throughput per worker process, beside the floor of Pillow alone.

Ingest = the real code path: upload service (spool + SHA-256, Pillow check decoding
every scan, original stored, DB row, job queued) and the job worker (derivatives web
+ thumb, stored, DB row updated, job done), on SQLite and the file store in a
temporary folder, in one process (as with the embedded worker: the job takes over
the check's decode instead of decoding the original again).
Floor = Pillow alone doing the same decode (draft) + orientation + resize + JPEG
encode of both derivatives, in alternating rounds in the same run, on the same
thread as the product's Pillow work; the stored web images must be byte-identical
to the floor's (same decode, resize and encode). Goal: ingest ≥ 0.8 × floor; peak
memory of the worker process < 150 MB. Prints MISSED when a goal is missed; always
exits 0.

Run: .venv/bin/python tests/benchmarks/bench_photos.py [N] [--no-handover]
(--no-handover: the check does not keep its decode, as when uploads and jobs run in
different processes; the job then decodes the original itself.)
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageOps  # noqa: E402

N = int(next((a for a in sys.argv[1:] if a.isdigit()), 16))
HANDOVER = "--no-handover" not in sys.argv[1:]
PEAK_GOAL_MB = 150
RATIO_GOAL = 0.8


def make_photo() -> bytes:
    """A 12-megapixel camera-like JPEG: 4000×3000, EXIF orientation 6, GPS block,
    about 3.4 MB at quality 90 (smooth shapes plus sensor-like fine noise)."""
    w, h = 4000, 3000
    coarse = Image.effect_noise((w // 4, h // 4), 60).resize((w, h), Image.Resampling.BICUBIC)
    fine = Image.effect_noise((w, h), 12)
    grad = Image.linear_gradient("L").resize((w, h))
    im = Image.merge("RGB", (Image.blend(coarse, fine, 0.3), grad, Image.blend(coarse, grad, 0.5)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "FieldRound Bench Camera"
    exif[0x0132] = "2026:11:26 10:00:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (30.0, 37.0, 39.5), 3: "E", 4: (119.0, 44.0, 19.56)})
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def pillow_floor(data: bytes) -> tuple[bytes, bytes]:
    """The least Pillow must do for both derivatives: one decode at the scale the web
    image needs, turned upright, web resized and thumb made from it, two encodes.
    (No RGB copy of an image that is RGB already; the decode is freed once turned.)"""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (1600, 1200))
        web = ImageOps.exif_transpose(im)
    if web.mode != "RGB":
        web = web.convert("RGB")
    web.thumbnail((1600, 1600), Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumb = web.copy()
    thumb.thumbnail((320, 320), Image.Resampling.LANCZOS, reducing_gap=3.0)
    a, b = io.BytesIO(), io.BytesIO()
    web.save(a, "JPEG", quality=85, optimize=False, progressive=False)
    thumb.save(b, "JPEG", quality=85, optimize=False, progressive=False)
    return a.getvalue(), b.getvalue()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 64 * 1024):
        yield data[i : i + 64 * 1024]


async def ingest_bench(
    data: bytes, n: int, var: Path, rounds: int, handover: bool = True
) -> tuple[float, float, int, bool, int]:
    """Alternate rounds of the Pillow floor and of the real ingest (drift on a shared
    machine hits both alike). Returns (floor images/s, ingest images/s, photos ready,
    whether the stored web images equal the floor's byte for byte, how many jobs took
    over the upload check's decode)."""
    from sqlalchemy import func, select

    from server.accounts.models import Organisation, User
    from server.accounts.principal import Principal
    from server.accounts.roles import Role
    from server.db.engine import create_engine, create_session_factory
    from server.db.migrate import upgrade
    from server.jobs.worker import Worker
    from server.media import images
    from server.media import services as svc
    from server.media.images import in_pillow_thread
    from server.media.models import Photo
    from server.media.schemas import OwnerType
    from server.places.models import Project
    from server.settings import Settings

    url = f"sqlite+aiosqlite:///{var / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        var_dir=var,
        database_url=url,
        storage_url=f"file://{var / 'media'}",
        public_url="http://127.0.0.1:8000",
        secret_key="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        run_embedded_worker=False,
    )
    engine = create_engine(url)
    factory = create_session_factory(engine)
    async with factory() as db:
        # Minimal rows (no demo estate: its password hashing would dominate the peak memory).
        org = Organisation(name="Bench 物业", kind="property_company")
        db.add(org)
        await db.flush()
        org.company_id = org.id
        project = Project(company_id=org.id, name="Bench 小区")
        user = User(username="engineer", display_name="张强", password_hash="-", role="engineer", org_id=org.id)
        db.add_all([project, user])
        await db.commit()
        assert org.company_id is not None
        principal = Principal(
            user_id=user.id,
            username=user.username,
            role=Role.engineer,
            org_id=org.id,
            org_kind=org.kind,
            company_id=org.company_id,
            device_id="bench",
            project_ids=frozenset({project.id}),
        )
    worker = Worker(settings, factory, worker_id="bench")
    if not handover:
        svc.worker_in_process = lambda: False  # type: ignore[assignment]
    taken = 0
    take = images.DECODES.take

    def counting_take(key: str) -> images.Decoded | None:
        nonlocal taken
        decoded = take(key)
        taken += decoded is not None
        return decoded

    images.DECODES.take = counting_take  # type: ignore[method-assign]

    async def ingest_one() -> None:
        async with factory() as db:
            await svc.upload(
                db,
                settings,
                principal,
                uuid.uuid4(),
                chunks(data),
                declared_length=len(data),
                new=svc.NewPhoto(project.id, OwnerType.item_result, uuid.uuid4()),
            )
        await worker.run_until_idle()

    def floor_round(count: int) -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            pillow_floor(data)
        return time.perf_counter() - t0

    # The floor runs on the thread the product's Pillow work runs on (timed inside it):
    # on another thread it would keep a malloc arena of its own, and the process's peak
    # RSS would count the floor's freed buffers on top of the worker's (≈ 25 MB).
    await ingest_one()  # warm-up: imports, font, first connections
    await in_pillow_thread(floor_round, 1)
    floor_time = ingest_time = 0.0
    per_round = max(1, n // rounds)
    for _ in range(rounds):
        floor_time += await in_pillow_thread(floor_round, per_round)
        t0 = time.perf_counter()
        for _ in range(per_round):
            await ingest_one()
        ingest_time += time.perf_counter() - t0
    async with factory() as db:
        ready = await db.scalar(select(func.count()).select_from(Photo).where(Photo.status == "ready"))
        web_keys = (await db.scalars(select(Photo.web_key).where(Photo.web_key.is_not(None)))).all()
    await engine.dispose()
    floor_web = (await in_pillow_thread(pillow_floor, data))[0]
    same_web = bool(web_keys) and all((var / "media" / str(k)).read_bytes() == floor_web for k in web_keys)
    total = per_round * rounds
    return total / floor_time, total / ingest_time, int(ready or 0) - 1, same_web, taken - (1 if handover else 0)


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (reset at exec, unlike ru_maxrss on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_process(data: bytes, n: int, tmp: str, handover: bool) -> tuple[float, float, int, bool, int, float, float]:
    """Runs in a fresh process: its peak RSS is one worker's."""
    import server.jobs.worker
    import server.media.processing
    import server.media.services  # noqa: F401

    base_mb = peak_rss_mb()
    floor, ingest, ready, same_web, taken = asyncio.run(ingest_bench(data, n, Path(tmp), 4, handover))
    return floor, ingest, ready, same_web, taken, base_mb, peak_rss_mb()


def main() -> int:
    data = make_photo()
    print(f"input: 4000×3000 JPEG, orientation 6, GPS EXIF, {len(data) / 1e6:.1f} MB; {N} images")
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="fr-bench-") as tmp, ctx.Pool(1) as pool:
        floor, ingest, ready, same_web, taken, base_mb, peak_mb = pool.apply(worker_process, (data, N, tmp, HANDOVER))
    ratio = ingest / floor
    print(f"Pillow floor (draft decode + orient + resize + 2 JPEG encodes): {floor:6.2f} images/s")
    print(f"FieldRound ingest (upload + checks + store + DB + job + derivatives): {ingest:6.2f} images/s")
    print(f"jobs that took over the upload check's decode: {taken} of {(N // 4) * 4}")
    print(f"ratio ingest / floor: {ratio:.2f} (goal ≥ {RATIO_GOAL}) {'ok' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(
        f"peak RSS of the worker process: {peak_mb:.0f} MB (after imports: {base_mb:.0f} MB) "
        f"(goal < {PEAK_GOAL_MB} MB) {'ok' if peak_mb < PEAK_GOAL_MB else 'MISSED'}"
    )
    if ready != (N // 4) * 4:
        print(f"MISSED: only {ready} of {(N // 4) * 4} photos reached 'ready'")
    if not same_web:
        print("MISSED: the stored web images differ from the floor's: the two do not do the same work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
