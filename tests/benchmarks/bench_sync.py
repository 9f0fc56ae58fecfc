"""Sync benchmarks: push and first pull through the real HTTP API, each against a
raw SQLAlchemy floor on the same database in the same run.

    .venv/bin/python tests/benchmarks/bench_sync.py [--db sqlite|postgresql|both] [--quick] [--profile]

Prints figures and ratios and exits 0; a goal missed is marked MISSED (times are
never asserted). See docs/performance.md §Sync for what is measured and why.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import tempfile
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from litestar.testing import AsyncTestClient
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app import create_app
from server.db.engine import create_engine
from server.inspections.models import Inspection
from server.inspections.rules import item_result_id
from server.lib.heap import freeze_heap, frozen_startup_heap
from sync.client import SyncClient
from sync.protocol import PullRequest, PullResponse
from tests.benchmarks.sync_fixtures import (
    ITEM_KEYS,
    ITEMS,
    VALUES,
    arrange_estate,
    database,
    device,
    enqueue,
    insert_stamped,
    inspection_rows,
    item_rows,
    rss_mark,
    rss_peak,
    server_side,
    settings_for,
    settle,
)

BATCH = 500
GOAL_RATIO = 0.5
GOAL_PULL_MB = 100
#: Rounds of each measure, each followed by a round of its floor; the best of each counts.
ROUNDS = 5
TRANSPORT = "litestar.testing.AsyncTestClient (in-process ASGI, no sockets)"


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def goal(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def quiet_heap() -> None:
    """Before each timed round: what the bench itself keeps (the device's outbox and
    journal of every mutation it sent, the rows a floor rewrites, earlier rounds'
    leftovers) frozen out of the garbage collector's full collections, as the
    served app freezes its start-up heap (`server.lib.heap`). A served process does
    not hold them; without this, every round's full collections walked all that
    the rounds before it left, and each push round ran slower than the one before
    (server CPU 0.45 → 0.69 s over five rounds, 22 full collections of ~45 ms),
    its floor less so (it allocates less)."""
    freeze_heap()


def chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


# --- push ------------------------------------------------------------------------------


async def bench_push(
    client: AsyncTestClient[Any], engine: AsyncEngine, estate: dict[str, Any], n_rows: int, profile: bool
) -> tuple[dict[str, Any], dict[str, Any], list[uuid.UUID]]:
    """`ROUNDS` rounds, each pushing `n_rows` new answers to inspections of its own
    from one device, then writing the same rows again as the floor (`floor_push`):
    push and floor alternate, so both meet the machine in the same moods, and the
    best of each counts (the first push also pays for warming caches and preparing
    statements). Returns the push, the floor and the first round's inspections."""
    dev = await device(client, "bench-push")
    pushes, floors, arranged = [], [], []
    for i in range(ROUNDS):
        inspections = await arrange_push(engine, estate, dev, n_rows)
        arranged.append(inspections)
        quiet_heap()
        with server_side(client.app, profile and i == 0, f"push of {n_rows:,} item results") as server:
            t0 = perf_counter()
            results = await dev.push(BATCH)
            seconds = perf_counter() - t0
        check_applied(results, n_rows)
        pushes.append({"seconds": seconds, "server": server["seconds"], "cpu": server["cpu"]})
        floors.append(await floor_push(engine, answer_ids(inspections)))
    best = min(pushes, key=lambda r: r["seconds"])
    push = {"rows": n_rows, **best, "rate": rate(n_rows, best["seconds"])}
    push["rounds"] = [rate(n_rows, r["seconds"]) for r in pushes]
    floor = {"rows": n_rows, "seconds": min(floors), "rate": rate(n_rows, min(floors))}
    floor["rounds"] = [rate(n_rows, t) for t in floors]
    floor["over_existing"] = await floor_over_existing(engine, answer_ids(arranged[0]))
    return push, floor, arranged[0]


def answer_ids(inspections: list[uuid.UUID]) -> list[uuid.UUID]:
    return [item_result_id(insp, "main", "", key) for insp in inspections for key in ITEM_KEYS]


async def arrange_push(engine: AsyncEngine, estate: dict[str, Any], dev: SyncClient, n_rows: int) -> list[uuid.UUID]:
    """Not timed: n_rows / 4 new inspections (Core inserts, stamped), an answer to
    each of their items queued in the device's outbox, the database settled."""
    rows = inspection_rows(estate, n_rows // len(ITEM_KEYS))
    await insert_stamped(engine, Inspection.__table__, estate["project_id"], rows)
    inspections = [r["id"] for r in rows]
    answered_at = datetime.now(UTC).isoformat()
    for insp in inspections:
        for key in ITEM_KEYS:
            enqueue(
                dev,
                "item_result",
                item_result_id(insp, "main", "", key),
                {
                    "inspection_id": str(insp),
                    "section_key": "main",
                    "instance_id": "",
                    "item_key": key,
                    "value": VALUES[key],
                    "location": "客厅 living room",
                    "answered_at": answered_at,
                },
            )
    # As autovacuum soon would: otherwise the planner keeps plans made while the
    # table was empty (a later round's lookup of 500 ids became a sequential scan).
    await settle(engine)
    return inspections


def check_applied(results: list[Any], expected: int) -> None:
    bad = [r for r in results if r.status != "applied"]
    if len(results) != expected or bad:
        raise RuntimeError(f"push: {len(results)} results for {expected} mutations; not applied: {bad[:3]}")


def upsert(engine: AsyncEngine) -> Any:
    """INSERT … ON CONFLICT (id) DO UPDATE of every column, in the dialect's own words."""
    ins = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(ITEMS)
    return ins.on_conflict_do_update(
        index_elements=[ITEMS.c.id], set_={c.name: ins.excluded[c.name] for c in ITEMS.c if c.name != "id"}
    )


async def read_rows(engine: AsyncEngine, ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [
            dict(r._mapping)
            for part in chunks(ids, BATCH)
            for r in await conn.execute(select(ITEMS).where(ITEMS.c.id.in_(part)).order_by(ITEMS.c.id))
        ]


async def write_rows(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    """The floor's write: an upsert, Core executemany of 500 rows per transaction."""
    stmt = upsert(engine)
    quiet_heap()
    t0 = perf_counter()
    for batch in chunks(rows, BATCH):
        async with engine.begin() as conn:
            await conn.execute(stmt, batch)
    return perf_counter() - t0


async def floor_push(engine: AsyncEngine, ids: list[uuid.UUID]) -> float:
    """Seconds to write the rows a push round wrote (read back: same columns, same
    values) into the table they were taken out of (deleted, the database settled,
    untimed): the same database work as the push's — new rows, every index entry and
    foreign-key check."""
    rows = await read_rows(engine, ids)
    async with engine.begin() as conn:
        for part in chunks(ids, BATCH):
            await conn.execute(delete(ITEMS).where(ITEMS.c.id.in_(part)))
    await settle(engine)
    return await write_rows(engine, rows)


async def floor_over_existing(engine: AsyncEngine, ids: list[uuid.UUID]) -> float:
    """For reference, rows/s of the same upsert over the rows themselves (the floor
    until 2026-12-01): updates of unchanged values, which skip the foreign-key checks
    and may skip the indexes. Best of `ROUNDS`."""
    rows = await read_rows(engine, ids)
    return rate(len(rows), min([await write_rows(engine, rows) for _ in range(ROUNDS)]))


# --- pull ------------------------------------------------------------------------------


async def arrange_pull(engine: AsyncEngine, estate: dict[str, Any], inspections: list[uuid.UUID], n_rows: int) -> int:
    """Fill the project up to `n_rows` item results (stamped Core inserts)."""
    have = await count_items(engine, estate["project_id"])
    per_insp = (n_rows - have) // len(inspections) // len(ITEM_KEYS)
    rows = item_rows(estate, inspections, [f"r{i}" for i in range(1, per_insp + 1)])
    await insert_stamped(engine, ITEMS, estate["project_id"], rows)
    del rows
    return await count_items(engine, estate["project_id"])


async def count_items(engine: AsyncEngine, project_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(select(func.count()).select_from(ITEMS).where(ITEMS.c.project_id == project_id)) or 0
        )


async def first_pull(dev: SyncClient) -> dict[str, int]:
    """The reference client's pull loop (cursor paging, default max_bytes), counting
    the changes instead of keeping them in a replica."""
    cursor, changes, items, pages = None, 0, 0, 0
    while True:
        req = PullRequest(protocol=dev.protocol, device_id=dev.device_id, cursor=cursor)
        resp = await dev._post("/api/sync/pull", req, PullResponse)
        changes += resp.count()
        items += sum(len(r.rows) for r in resp.runs if r.entity == "item_result")
        items += sum(1 for c in resp.changes if c.entity == "item_result")
        pages += 1
        cursor = resp.cursor
        if not resp.has_more:
            return {"changes": changes, "items": items, "pages": pages}


async def bench_pull(
    client: AsyncTestClient[Any], engine: AsyncEngine, project_id: uuid.UUID, profile: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`ROUNDS` first pulls (each from no cursor), each followed by a round of its
    floor (`floor_pull`); the best of each counts. RSS growth is the largest of any
    pull. Returns the pull and the floor."""
    dev = await device(client, "bench-pull")
    rounds, floors, rss_mb = [], [], 0.0
    for i in range(ROUNDS):
        quiet_heap()
        before = rss_mark()
        with server_side(client.app, profile and i == 0, "first pull") as server:
            t0 = perf_counter()
            got = await first_pull(dev)
            seconds = perf_counter() - t0
        rss_mb = max(rss_mb, (rss_peak() - before) / 1024)
        rounds.append({"seconds": seconds, "server": server["seconds"], "cpu": server["cpu"]})
        floors.append(await floor_pull(engine, project_id))
    best = min(rounds, key=lambda r: r["seconds"])
    n, floor_seconds = min(floors, key=lambda f: f[1])
    floor = {"rows": n, "seconds": floor_seconds, "rate": rate(n, floor_seconds)}
    floor["rounds"] = [rate(f[0], f[1]) for f in floors]
    # Again under tracemalloc (slower, so not timed): the peak of Python's heap.
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    again = await first_pull(dev)
    heap_mb = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    tracemalloc.stop()
    if again["changes"] != got["changes"]:
        raise RuntimeError(f"pull: {again['changes']} changes the second time, {got['changes']} the first")
    pull = {
        **got,
        **best,
        "rate": rate(got["changes"], best["seconds"]),
        "rounds": [rate(got["changes"], r["seconds"]) for r in rounds],
        "rss_mb": rss_mb,
        "heap_mb": heap_mb,
    }
    return pull, floor


async def floor_pull(engine: AsyncEngine, project_id: uuid.UUID) -> tuple[int, float]:
    """Rows and seconds: every column of the project's item results in (version, id)
    order, streamed 2,000 at a time."""
    stmt = (
        select(ITEMS)
        .where(ITEMS.c.project_id == project_id)
        .order_by(ITEMS.c.version, ITEMS.c.id)
        .execution_options(yield_per=2_000)
    )
    n = 0
    quiet_heap()
    t0 = perf_counter()
    async with engine.connect() as conn:
        result = await conn.stream(stmt)
        async for part in result.partitions():
            n += len(part)
    return n, perf_counter() - t0


# --- one database ----------------------------------------------------------------------


async def run(kind: str, quick: bool, profile: bool) -> dict[str, Any]:
    push_rows, pull_rows = (1_000, 10_000) if quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="fr-bench-") as tmp:
        async with database(kind, Path(tmp)) as url:
            estate = await arrange_estate(url)
            engine = create_engine(url)
            app = create_app(settings_for(url, Path(tmp)), lifespan_hooks=[frozen_startup_heap])  # as served, no worker
            logging.getLogger().setLevel(logging.WARNING)  # create_app logs INFO: a line per request
            load = os.getloadavg()[0]
            try:
                async with AsyncTestClient(app=app) as client:
                    push, push_floor, inspections = await bench_push(client, engine, estate, push_rows, profile)
                    arranged = await arrange_pull(engine, estate, inspections, pull_rows)
                    await settle(engine)
                    pull, pull_floor = await bench_pull(client, engine, estate["project_id"], profile)
            finally:
                await engine.dispose()
                gc.unfreeze()  # (what the rounds froze: the next database starts clean)
    out = {
        "db": kind,
        "push": push,
        "push_floor": push_floor,
        "pull": pull,
        "pull_floor": pull_floor,
        "arranged": arranged,
        "load": (load, os.getloadavg()[0]),
    }
    report(out)
    return out


def share(m: dict[str, Any]) -> str:
    return (
        f"server {m['server']:.2f} s = {m['server'] / m['seconds']:.0%}, the rest client and transport;"
        f" server thread's CPU {m['cpu']:.2f} s"
    )


def rounds(m: dict[str, Any]) -> str:
    return f"best of {ROUNDS}: " + ", ".join(f"{x:,.0f}" for x in m["rounds"])


def paired(m: dict[str, Any], floor: dict[str, Any]) -> str:
    """For reading the noise, not for the goal: each round's ratio to the floor round
    run right after it (same minute, same table size), and their median."""
    ratios = [a / b for a, b in zip(m["rounds"], floor["rounds"], strict=True)]
    return f"paired rounds {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.3f}"


def report(r: dict[str, Any]) -> None:
    push, pf, pull, qf = r["push"], r["push_floor"], r["pull"], r["pull_floor"]
    push_ratio, pull_ratio = push["rate"] / pf["rate"], pull["rate"] / qf["rate"]
    mem = max(pull["heap_mb"], pull["rss_mb"])
    r["push_ratio"], r["pull_ratio"], r["mem_mb"] = push_ratio, pull_ratio, mem
    print(f"\n== {r['db']} — HTTP through {TRANSPORT}; load average {r['load'][0]:.1f} → {r['load'][1]:.1f}")
    print(
        f"push   {push['rows']:>8,} item results, batches of {BATCH}: {push['rate']:>9,.0f} rows/s"
        f"  ({push['seconds']:.2f} s; {share(push)}; {rounds(push)})"
    )
    print(
        f"floor  {pf['rows']:>8,} rows, Core upsert ON CONFLICT, executemany {BATCH}/transaction:"
        f" {pf['rate']:>9,.0f} rows/s  ({pf['seconds']:.2f} s, as new rows, {rounds(pf)};"
        f" over the existing rows {pf['over_existing']:,.0f} rows/s, ratio {push['rate'] / pf['over_existing']:.3f})"
    )
    print(
        f"       ratio push/floor {push_ratio:.3f}  (goal ≥ {GOAL_RATIO})  {goal(push_ratio >= GOAL_RATIO)}"
        f"  [{paired(push, pf)}]"
    )
    print(
        f"pull   {pull['changes']:>8,} changes ({pull['items']:,} item results of {r['arranged']:,}) in"
        f" {pull['pages']} pages: {pull['rate']:>9,.0f} rows/s  ({pull['seconds']:.2f} s; {share(pull)};"
        f" {rounds(pull)})"
    )
    print(
        f"floor  {qf['rows']:>8,} rows, Core select streamed by 2,000: {qf['rate']:>9,.0f} rows/s"
        f"  ({qf['seconds']:.2f} s, {rounds(qf)})"
    )
    print(
        f"       ratio pull/floor {pull_ratio:.3f}  (goal ≥ {GOAL_RATIO})  {goal(pull_ratio >= GOAL_RATIO)}"
        f"  [{paired(pull, qf)}]"
    )
    print(
        f"       memory during the pull: heap peak +{pull['heap_mb']:.1f} MB (tracemalloc),"
        f" RSS peak +{pull['rss_mb']:.1f} MB  (goal < {GOAL_PULL_MB} MB)  {goal(mem < GOAL_PULL_MB)}"
    )
    sys.stdout.flush()


def summary(results: list[dict[str, Any]]) -> None:
    print(
        "\n| database | push rows/s | floor rows/s | push/floor | pull rows/s | floor rows/s | pull/floor"
        " | pull memory (heap / RSS) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['db']} | {r['push']['rate']:,.0f} | {r['push_floor']['rate']:,.0f} | {r['push_ratio']:.3f}"
            f" | {r['pull']['rate']:,.0f} | {r['pull_floor']['rate']:,.0f} | {r['pull_ratio']:.3f}"
            f" | {r['pull']['heap_mb']:.0f} / {r['pull']['rss_mb']:.0f} MB |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="sizes ÷ 10, a smoke run")
    parser.add_argument("--profile", action="store_true", help="cProfile the server side of push and pull")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"sync benchmarks — {'quick (sizes ÷ 10)' if args.quick else 'full'}; {datetime.now(UTC):%Y-%m-%d}")
    results = [asyncio.run(run(kind, args.quick, args.profile)) for kind in kinds]
    summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
