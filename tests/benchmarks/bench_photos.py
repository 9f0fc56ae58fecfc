"""Photo ingest throughput per worker process, beside the floor of Pillow alone.

Ingest = the real code path: upload service (spool + SHA-256, Pillow check,
original stored, DB row, job queued) and the job worker (derivatives web + thumb,
stored, DB row updated), on SQLite and the file store in a temporary folder.
Floor = Pillow alone doing the same decode (draft) + orientation + resize + JPEG
encode of both derivatives, in the same run. Goal: ingest ≥ 0.8 × floor; peak
memory of the worker process < 150 MB. Prints MISSED when a goal is missed; always
exits 0. Run: .venv/bin/python tests/benchmarks/bench_photos.py [N]
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

N = int(sys.argv[1]) if len(sys.argv) > 1 else 16
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
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (1600, 1200))
        upright = ImageOps.exif_transpose(im)
        web = upright.convert("RGB")
        web.thumbnail((1600, 1600), Image.Resampling.LANCZOS, reducing_gap=3.0)
        thumb = web.copy()
        thumb.thumbnail((320, 320), Image.Resampling.LANCZOS, reducing_gap=3.0)
        a, b = io.BytesIO(), io.BytesIO()
        web.save(a, "JPEG", quality=85)
        thumb.save(b, "JPEG", quality=85)
        return a.getvalue(), b.getvalue()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 64 * 1024):
        yield data[i : i + 64 * 1024]


async def ingest_bench(data: bytes, n: int, var: Path, rounds: int) -> tuple[float, float, int]:
    """Alternate rounds of the Pillow floor and of the real ingest (drift on a shared
    machine hits both alike). Returns (floor images/s, ingest images/s, photos ready)."""
    from sqlalchemy import func, select

    from server.accounts.models import Organisation, User
    from server.accounts.principal import Principal
    from server.accounts.roles import Role
    from server.db.engine import create_engine, create_session_factory
    from server.db.migrate import upgrade
    from server.jobs.worker import Worker
    from server.media import services as svc
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

    await ingest_one()  # warm-up: imports, font, first connections
    pillow_floor(data)
    floor_time = ingest_time = 0.0
    per_round = max(1, n // rounds)
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            pillow_floor(data)
        floor_time += time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(per_round):
            await ingest_one()
        ingest_time += time.perf_counter() - t0
    async with factory() as db:
        ready = await db.scalar(select(func.count()).select_from(Photo).where(Photo.status == "ready"))
    await engine.dispose()
    total = per_round * rounds
    return total / floor_time, total / ingest_time, int(ready or 0) - 1


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (reset at exec, unlike ru_maxrss on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_process(data: bytes, n: int, tmp: str) -> tuple[float, float, int, float, float]:
    """Runs in a fresh process: its peak RSS is one worker's."""
    import server.jobs.worker
    import server.media.processing
    import server.media.services  # noqa: F401

    base_mb = peak_rss_mb()
    floor, ingest, ready = asyncio.run(ingest_bench(data, n, Path(tmp), rounds=4))
    return floor, ingest, ready, base_mb, peak_rss_mb()


def main() -> int:
    data = make_photo()
    print(f"input: 4000×3000 JPEG, orientation 6, GPS EXIF, {len(data) / 1e6:.1f} MB; {N} images")
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="fr-bench-") as tmp, ctx.Pool(1) as pool:
        floor, ingest, ready, base_mb, peak_mb = pool.apply(worker_process, (data, N, tmp))
    ratio = ingest / floor
    print(f"Pillow floor (draft decode + orient + resize + 2 JPEG encodes): {floor:6.2f} images/s")
    print(f"FieldRound ingest (upload + checks + store + DB + job + derivatives): {ingest:6.2f} images/s")
    print(f"ratio ingest / floor: {ratio:.2f} (goal ≥ {RATIO_GOAL}) {'ok' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(
        f"peak RSS of the worker process: {peak_mb:.0f} MB (after imports: {base_mb:.0f} MB) "
        f"(goal < {PEAK_GOAL_MB} MB) {'ok' if peak_mb < PEAK_GOAL_MB else 'MISSED'}"
    )
    if ready != (N // 4) * 4:
        print(f"MISSED: only {ready} of {(N // 4) * 4} photos reached 'ready'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
