"""The feed reads UUIDs, timestamps, dates and decimals as the text their JSON holds,
written by the database (`sync.feed_text`). That text must be exactly what msgspec
writes for the typed value SQLAlchemy reads, on both databases — checked here for
each kind on awkward and many random values, and for every entity a pull delivers."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Numeric, Table, Uuid, insert, select

from server.db.base import UTCDateTime
from server.places.models import Unit
from server.syncing.registry import registry
from sync.feed_text import as_feed_text
from tests.sync_harness import answer, device, new_inspection

PROBE = Table(
    "feed_text_probe",
    MetaData(),
    Column("n", Integer, primary_key=True),
    Column("u", Uuid),
    Column("t", UTCDateTime()),
    Column("tz", DateTime(timezone=True)),
    Column("d", Date),
    Column("dec", Numeric(10, 2)),
)
KINDS = ("u", "t", "tz", "d", "dec")


def _json(value: Any) -> bytes:
    """msgspec's JSON of a value as the typed read gives it; the timestamp columns
    hold UTC, which SQLite hands back without its zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return msgspec.json.encode(value)


def _awkward() -> list[dict[str, Any]]:
    base = datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC)
    times = [
        base,  # no fraction: msgspec leaves it out
        base.replace(microsecond=1),
        base.replace(microsecond=100),
        base.replace(microsecond=120000),
        base.replace(microsecond=999999),
        datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC) - timedelta(hours=8),
    ]
    uuids = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("0190f3a2-7b1c-7def-8abc-0123456789ab")]
    decimals = [Decimal("0.00"), Decimal("85.50"), Decimal("-0.01"), Decimal("12345678.90"), Decimal("7")]
    dates = [date(2026, 12, 1), date(2000, 2, 29), date(1970, 1, 1)]
    rows = []
    for i, t in enumerate(times):
        rows.append(
            {
                "u": uuids[i % len(uuids)],
                "t": t,
                "tz": times[-1 - i],
                "d": dates[i % len(dates)],
                "dec": decimals[i % len(decimals)],
            }
        )
    rows.append(dict.fromkeys(KINDS))  # every one NULL
    return rows


def _random(n: int, seed: int = 20261201) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(1900, 1, 1, tzinfo=UTC)
    rows = []
    for _ in range(n):
        t = start + timedelta(
            seconds=rng.randrange(0, 200 * 365 * 86400), microseconds=rng.choice([0, rng.randrange(1, 10**6)])
        )
        rows.append(
            {
                "u": uuid.UUID(int=rng.getrandbits(128)),
                "t": t,
                "tz": t + timedelta(microseconds=rng.randrange(-(10**6), 10**6)),
                "d": t.date(),
                "dec": Decimal(rng.randrange(-(10**10) + 1, 10**10)).scaleb(-2),
            }
        )
    return rows


async def test_each_kind_reads_as_msgspec_writes_the_typed_value(db: Any) -> None:
    conn = await db.connection()
    await conn.run_sync(PROBE.metadata.create_all)
    rows = _awkward() + _random(500)
    await db.execute(insert(PROBE), [{"n": i, **row} for i, row in enumerate(rows)])
    await db.flush()
    typed = (await db.execute(select(PROBE).order_by(PROBE.c.n))).all()
    as_text = (
        await db.execute(select(PROBE.c.n, *(as_feed_text(PROBE.c[k]).label(k) for k in KINDS)).order_by(PROBE.c.n))
    ).all()
    assert len(typed) == len(as_text) == len(rows)
    for want, got in zip(typed, as_text, strict=True):
        for k in KINDS:
            assert msgspec.json.encode(got._mapping[k]) == _json(want._mapping[k]), (k, want, got)


def _reference(spec: Any, row: Any, names: list[str]) -> dict[str, Any]:
    """A record as msgspec writes the typed row SQLAlchemy reads (JSON columns parsed)."""
    encoded = b"{" + b",".join(msgspec.json.encode(n) + b":" + _json(getattr(row, n)) for n in names) + b"}"
    return dict(msgspec.json.decode(encoded))


async def test_every_entity_a_pull_delivers_matches_its_typed_row(client: Any, db: Any, setup: dict[str, Any]) -> None:
    """A manager's first pull after answers, a conflict (timestamps of the sync
    tables), a patrol scan (floats) and a unit's area (a decimal): each change's data
    is what msgspec writes for the same row read typed."""
    from server.places.models import Facility

    unit_id = setup["unit"].id
    (await db.get(Unit, unit_id)).area_m2 = Decimal("89.50")
    facility_code = (await db.scalars(select(Facility.code).limit(1))).one()
    await db.commit()
    a = await device(client, "engineer", setup["pw"], "pad-a")
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    insp = new_inspection(a, setup["tv"], unit_id)
    rid = answer(a, insp, "window", value="pass", note='引号 " 反斜杠 \\ 换行 \n')
    answer(a, insp, "flatness", value=2.5)
    a.put(
        "checkpoint_scan",
        uuid.uuid4(),
        code=facility_code,
        scanned_at=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
        latitude=30.627612345678,
        longitude=119.7388,
        accuracy_m=0.1 + 0.2,
    )
    await a.sync()
    await b.pull()
    a.put("item_result", rid, value="fail")
    b.put("item_result", rid, value="pass")  # stale: a conflict is kept
    await a.sync()
    await b.sync()

    fresh = await device(client, "cs_manager", setup["pw"], "pad-fresh")
    await fresh.pull()
    await db.rollback()
    seen: set[str] = set()
    for spec in registry().all():
        for key, data in fresh.replica.get(spec.name, {}).items():
            names = list(data)
            row = (
                await db.execute(select(*(spec.table.c[n] for n in names)).where(spec.table.c.id == uuid.UUID(key)))
            ).one()
            assert data == _reference(spec, row, names), (spec.name, key)
            seen.add(spec.name)
    assert {"unit", "inspection", "item_result", "checkpoint_scan", "conflict"} <= seen
