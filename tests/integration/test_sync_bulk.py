"""`sync.bulk.insert_rows` stores exactly what SQLAlchemy's own executemany stores,
on both databases (on PostgreSQL it sends the rows as one JSON document)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Text, cast, insert, select

from server.inspections.models import Inspection, ItemResult
from sync.bulk import among, insert_rows

ITEMS: Any = ItemResult.__table__
CHINA = timezone(timedelta(hours=8))

#: Values a device may send, as the push's checks leave them, and the awkward ones.
VALUES: list[Any] = [
    "pass",
    "fail",
    3,
    2.5,
    -0.001,
    10**15,
    None,
    True,
    1,  # equal to True (and 1.0 to 1, False to 0): a cache of converted values must tell them apart
    1.0,
    False,
    0,
    ["a", "b"],
    {"k": [1, {"n": None}]},
    'quote " backslash \\ tab \t newline \n',
    "空鼓 墙面开裂 🏠",
    "",
]


def rows_for(insp: Inspection, user_id: uuid.UUID, tag: str) -> list[dict[str, Any]]:
    now = datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC)
    rows = []
    for i, value in enumerate(VALUES):
        rows.append(
            {
                "id": uuid.uuid4(),
                "project_id": insp.project_id,
                "inspection_id": insp.id,
                "section_key": "main",
                "instance_id": f"{tag}{i}",
                "instance_label": None if i % 2 else f"第{i}间 room {i}",
                "item_key": "door",
                "value": value,
                "note": None if i % 3 else f"note {i} 备注 'x' \"y\"",
                "photos": [] if i % 2 else [str(uuid.UUID(int=i)), str(uuid.UUID(int=i + 100))],
                "severity": None if i % 2 else "major",
                "responsible": None,
                "location": "客厅 living room",
                "answered_by": user_id,
                # UTC and China time; a fraction or none (msgspec leaves a zero one out)
                "answered_at": (now - timedelta(days=400, microseconds=i if i % 4 else now.microsecond)).astimezone(
                    CHINA if i % 2 else UTC
                ),
                "version": 7,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


async def an_inspection(db: Any, demo: dict[str, Any], setup: dict[str, Any]) -> Inspection:
    insp = Inspection(
        id=uuid.uuid4(),
        project_id=demo["project"].id,
        kind="unit_inspection",
        template_version_id=setup["tv"],
        target_type="unit",
        target_id=setup["unit_id"],
        status="in_progress",
    )
    db.add(insp)
    await db.flush()
    return insp


async def test_rows_written_at_once_read_back_as_executemany_writes_them(
    db: Any, demo: dict[str, Any], setup: dict[str, Any]
) -> None:
    user = demo["users"]["engineer"]
    insp = await an_inspection(db, demo, setup)
    bulk, plain = rows_for(insp, user.id, "b"), rows_for(insp, user.id, "p")
    await insert_rows(db, ITEMS, bulk)
    await db.execute(insert(ITEMS), plain)
    await db.commit()

    def read(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [dict(found[r["id"]]._mapping) for r in rows]

    found = {r.id: r for r in await db.execute(select(ITEMS).where(ITEMS.c.inspection_id == insp.id))}
    assert len(found) == 2 * len(VALUES)
    for b, p in zip(read(bulk), read(plain), strict=True):
        assert b.pop("id") != p.pop("id")
        assert b.pop("instance_id")[1:] == p.pop("instance_id")[1:]
        assert b == p
    # Stored identically, as text: SQLite compares timestamps and UUIDs as their text.
    as_text = select(ITEMS.c.id, *(cast(c, Text).label(c.name) for c in ITEMS.c if c.name not in ("id", "instance_id")))
    stored = {r.id: r[1:] for r in await db.execute(as_text.where(ITEMS.c.inspection_id == insp.id))}
    assert [stored[r["id"]] for r in bulk] == [stored[r["id"]] for r in plain]
    got = read(bulk)
    assert [g["value"] for g in got] == VALUES
    assert got[0]["answered_at"] == bulk[0]["answered_at"]  # microseconds and zone kept
    assert all(g["needs_review"] is False and g["deleted"] is False for g in got)  # left out: defaults


async def test_among_finds_exactly_the_ids_present(db: Any, demo: dict[str, Any], setup: dict[str, Any]) -> None:
    insp = await an_inspection(db, demo, setup)
    rows = rows_for(insp, demo["users"]["engineer"].id, "a")
    await insert_rows(db, ITEMS, rows)
    present = [r["id"] for r in rows[::2]]
    for wanted in ([], present[:1], present + [uuid.uuid4() for _ in range(600)]):
        found = set(await db.scalars(select(ITEMS.c.id).where(among(db, ITEMS.c.id, wanted))))
        assert found == set(wanted) & set(present)
