"""Is an inspection's evidence all there? Photos recorded by its answers,
signatures and scans, counted by state. A photo an answer names but whose record
or bytes have not arrived counts as pending: a record is never reported done
while its evidence is still on a tablet (the Kobo/Enketo failure mode)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.inspections.models import CheckpointScan, ItemResult, Signature
from server.media.models import Photo
from server.media.schemas import PhotoCounts
from server.media.services import photo_status_for


def _add(into: PhotoCounts, more: PhotoCounts) -> None:
    into.total += more.total
    into.pending += more.pending
    into.processing += more.processing
    into.ready += more.ready
    into.failed += more.failed


async def evidence_for(db: AsyncSession, inspection_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PhotoCounts]:
    ids = list(dict.fromkeys(inspection_ids))
    out = {i: PhotoCounts() for i in ids}
    if not ids:
        return out
    for i, counts in (await photo_status_for(db, "inspection", ids)).items():
        _add(out[i], counts)
    named: dict[uuid.UUID, set[str]] = {i: set() for i in ids}
    for model, owner_type in (
        (ItemResult, "item_result"),
        (Signature, "signature"),
        (CheckpointScan, "checkpoint_scan"),
    ):
        rows = (await db.execute(select(model.id, model.inspection_id).where(model.inspection_id.in_(ids)))).all()
        parent = {r.id: r.inspection_id for r in rows}
        for owner, counts in (await photo_status_for(db, owner_type, parent)).items():
            _add(out[parent[owner]], counts)
    # Photo ids an answer names: any without a photo record yet is pending too.
    for inspection_id, photos in (
        await db.execute(
            select(ItemResult.inspection_id, ItemResult.photos).where(
                ItemResult.inspection_id.in_(ids), ItemResult.deleted.is_(False)
            )
        )
    ).all():
        named[inspection_id].update(str(p) for p in photos or [])
    wanted = {uuid.UUID(p) for names in named.values() for p in names if _is_uuid(p)}
    known = (
        {str(p) for p in (await db.scalars(select(Photo.id).where(Photo.id.in_(wanted)))).all()} if wanted else set()
    )
    for inspection_id, names in named.items():
        missing = len([p for p in names if p not in known])
        out[inspection_id].total += missing
        out[inspection_id].pending += missing
    return out


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
