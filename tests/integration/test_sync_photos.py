"""Photo metadata through sync, bytes by upload: pending until the bytes arrive,
whichever comes first; partners see the photos of their own tickets only."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

from PIL import Image

from server.media.models import Photo
from tests.factories import auth_headers
from tests.integration.media_support import JPEG
from tests.sync_harness import answer, device, fill_passing, new_inspection


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


async def test_photo_metadata_syncs_and_shows_pending_until_bytes_arrive(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    data = jpeg()
    photo_id = uuid.uuid4()
    rid = answer(a, insp, "door", value="fail", photos=[str(photo_id)])
    a.put(
        "photo",
        photo_id,
        owner_type="item_result",
        owner_id=str(rid),
        sha256=hashlib.sha256(data).hexdigest(),
        byte_size=len(data),
        content_type="image/jpeg",
    )
    await a.sync()
    assert a.replica["photo"][str(photo_id)]["status"] == "pending"
    headers = await auth_headers(client, "engineer", setup["pw"], "pad-a")
    resp = await client.put(f"/api/photos/{photo_id}", content=data, headers={**headers, **JPEG})
    assert resp.status_code == 201, resp.text
    await a.pull()
    assert a.replica["photo"][str(photo_id)]["status"] in {"stored", "ready"}
    # A second device answering nothing about it still receives the record.
    b = await device(client, "cs_manager", setup["pw"], "pad-b")
    await b.pull()
    assert str(photo_id) in b.replica["photo"]


async def test_bytes_before_metadata_then_sync_agrees(client: Any, db: Any, setup: dict[str, Any]) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    rid = answer(a, insp, "door", value="fail")
    await a.sync()
    data = jpeg()
    photo_id = uuid.uuid4()
    headers = await auth_headers(client, "engineer", setup["pw"], "pad-a")
    project = setup["demo"]["project"].id
    resp = await client.put(
        f"/api/photos/{photo_id}?project={project}&owner_type=item_result&owner_id={rid}",
        content=data,
        headers={**headers, **JPEG},
    )
    assert resp.status_code == 201, resp.text
    a.put(
        "photo",
        photo_id,
        owner_type="item_result",
        owner_id=str(rid),
        sha256=hashlib.sha256(data).hexdigest(),
        byte_size=len(data),
    )
    res = await a.push()
    assert res[-1].status == "applied"
    # A metadata row that contradicts the stored bytes is refused.
    a.put("photo", photo_id, sha256="0" * 64)
    assert (await a.push())[-1].status == "rejected"
    await db.rollback()
    assert (await db.get(Photo, photo_id)).sha256 == hashlib.sha256(data).hexdigest()


async def test_contractor_sees_photos_of_its_tickets_only(client: Any, db: Any, setup: dict[str, Any]) -> None:
    eng = await device(client, "engineer", setup["pw"], "pad-e")
    insp = new_inspection(eng, setup["tv"], setup["unit_id"])
    fill_passing(eng, insp)
    rid_w = answer(eng, insp, "window", value="fail")
    rid_d = answer(eng, insp, "door", value="fail")
    p_window, p_door = uuid.uuid4(), uuid.uuid4()
    eng.put("photo", p_window, owner_type="item_result", owner_id=str(rid_w))
    eng.put("photo", p_door, owner_type="item_result", owner_id=str(rid_d))
    eng.submit("inspection", insp)
    await eng.sync()
    window_ticket = next(k for k, t in eng.replica["ticket"].items() if t["item_key"] == "window")
    contractor = setup["demo"]["users"]["contractor"]
    mgr = await device(client, "cs_manager", setup["pw"], "desk")
    mgr.put(
        "ticket_event",
        uuid.uuid4(),
        ticket_id=window_ticket,
        kind="assign",
        data={"assignee_org_id": str(contractor.org_id)},
    )
    await mgr.push()
    con = await device(client, "contractor", setup["pw"], "pad-c")
    await con.pull()
    assert "photo" not in con.replica  # inspection photos are not the contractor's
    ev = uuid.uuid4()
    fix_photo = uuid.uuid4()
    con.put("ticket_event", ev, ticket_id=window_ticket, kind="fix", photos=[str(fix_photo)])
    con.put("photo", fix_photo, owner_type="ticket_event", owner_id=str(ev))
    con.put("photo", uuid.uuid4(), owner_type="item_result", owner_id=str(rid_d))  # not its record
    assert [r.status for r in await con.push()] == ["applied", "applied", "rejected"]
    await con.pull()
    assert set(con.replica["photo"]) == {str(fix_photo)}
    await mgr.pull()
    assert str(fix_photo) in mgr.replica["photo"]


async def test_an_inspection_with_photos_still_on_the_tablet_is_not_done(
    client: Any, db: Any, setup: dict[str, Any]
) -> None:
    a = await device(client, "engineer", setup["pw"], "pad-a")
    insp = new_inspection(a, setup["tv"], setup["unit_id"])
    fill_passing(a, insp)
    with_record, without_record = uuid.uuid4(), uuid.uuid4()
    rid = answer(a, insp, "door", value="fail", photos=[str(with_record), str(without_record)])
    a.put("photo", with_record, owner_type="item_result", owner_id=str(rid))  # the other: no record yet
    a.submit("inspection", insp)
    await a.sync()
    headers = await auth_headers(client, "engineer", setup["pw"], "pad-a")
    body = (await client.get(f"/api/inspections/{insp}", headers=headers)).json()
    assert body["status"] == "submitted"
    assert body["photos"]["pending"] == 2
    assert body["evidence_complete"] is False
    scan = (
        await client.get(
            f"/q/{a.replica['unit'][str(setup['unit_id'])]['code']}", headers={**headers, "Accept": "application/json"}
        )
    ).json()
    listed = next(i for i in scan["inspections"] if i["id"] == str(insp))
    assert listed["evidence_complete"] is False and listed["photos_pending"] == 2
    # The bytes of both arrive (the second with its record made by the upload).
    data = jpeg()
    for pid in (with_record, without_record):
        q = (
            ""
            if pid == with_record
            else f"?project={setup['demo']['project'].id}&owner_type=item_result&owner_id={rid}"
        )
        resp = await client.put(f"/api/photos/{pid}{q}", content=data, headers={**headers, **JPEG})
        assert resp.status_code == 201, resp.text
    body = (await client.get(f"/api/inspections/{insp}", headers=headers)).json()
    assert body["photos"]["pending"] == 0 and body["photos"]["total"] == 2
    assert body["evidence_complete"] is True
    # Another company's user cannot read it.
    contractor = await auth_headers(client, "contractor", setup["pw"], "pad-c")
    assert (await client.get(f"/api/inspections/{insp}", headers=contractor)).status_code == 404
