"""Checklist templates over HTTP: bundled versions published at start-up, reading
with ETags, publishing (admins, audited), XLSX export and import, and
judging with a published version as the sync engine does."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import checklists.loader
from checklists import (
    AnswersInvalid,
    TemplateFileError,
    content_hash,
    export_xlsx,
    import_xlsx,
    judge,
    load_bundled,
    parse_template,
)
from server.app import create_app
from server.audit.models import AuditEntry
from server.inspections.templating import template_index
from server.settings import Settings
from server.templates import services as svc
from server.templates.models import TemplateVersion
from tests.factories import auth_headers

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BUNDLED = load_bundled()


async def headers_for(client: Any, demo: dict[str, Any], role: str) -> dict[str, str]:
    return await auth_headers(client, role, demo["password"])


async def versions_of(client: Any, headers: dict[str, str], key: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/templates/{key}/versions", headers=headers)
    assert resp.status_code == 200, resp.text
    body: list[dict[str, Any]] = resp.json()
    return body


def edited_patrol(title: str = "日常巡查记录表(修订)") -> dict[str, Any]:
    raw: dict[str, Any] = msgspec.to_builtins(BUNDLED["patrol"])
    raw["title"]["zh"] = title
    raw["version"] = "2025.2"
    return raw


async def count_versions(db: AsyncSession) -> int:
    await db.rollback()
    return int(await db.scalar(select(func.count()).select_from(TemplateVersion)) or 0)


async def test_bundled_templates_are_published_at_start_up(client: Any, demo: dict[str, Any]) -> None:
    headers = await headers_for(client, demo, "engineer")
    resp = await client.get("/api/templates", headers=headers)
    assert resp.status_code == 200
    listed = {t["key"]: t for t in resp.json()}
    assert set(listed) == set(BUNDLED)
    for key, template in BUNDLED.items():
        latest = listed[key]["latest"]
        assert latest["content_hash"] == content_hash(template)
        assert latest["number"] == 1
        assert latest["kind"] == template.kind
        assert latest["discipline"] == template.discipline
        assert latest["version"] == template.version
        assert latest["title"] == {"zh": template.title.zh, "en": template.title.en}
        assert listed[key]["versions"] == [latest]
    assert listed["unit_inspection"]["latest"]["item_count"] >= 40


async def test_reading_needs_a_login(client: Any, demo: dict[str, Any]) -> None:
    assert (await client.get("/api/templates")).status_code == 401


async def test_get_version_with_etag_and_304(client: Any, demo: dict[str, Any]) -> None:
    headers = await headers_for(client, demo, "cs_assistant")
    [version] = await versions_of(client, headers, "vacant_unit")
    url = f"/api/templates/versions/{version['id']}"
    resp = await client.get(url, headers=headers)
    assert resp.status_code == 200
    etag = resp.headers["etag"]
    assert etag == f'"{version["content_hash"]}"'
    assert "immutable" in resp.headers["cache-control"]
    body = resp.json()
    assert body["id"] == version["id"]
    # the template in the body is exactly the published content
    assert content_hash(parse_template(json.dumps(body["template"]))) == version["content_hash"]

    cached = await client.get(url, headers={**headers, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    weak = await client.get(url, headers={**headers, "If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = await client.get(url, headers={**headers, "If-None-Match": '"0000"'})
    assert stale.status_code == 200


async def test_unknown_template_and_version_are_404(client: Any, demo: dict[str, Any]) -> None:
    headers = await headers_for(client, demo, "engineer")
    resp = await client.get("/api/templates/nope/versions", headers=headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"/api/templates/versions/{uuid.uuid4()}", headers=headers)).status_code == 404
    assert (await client.get(f"/api/templates/versions/{uuid.uuid4()}/xlsx", headers=headers)).status_code == 404


async def test_admin_publishes_a_new_version_audited(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    headers = await headers_for(client, demo, "admin")
    raw = edited_patrol()
    resp = await client.post("/api/templates", content=json.dumps(raw, ensure_ascii=False).encode(), headers=headers)
    assert resp.status_code == 201, resp.text
    published = resp.json()
    assert (published["key"], published["number"], published["version"]) == ("patrol", 2, "2025.2")
    assert published["content_hash"] == content_hash(parse_template(json.dumps(raw)))
    assert published["published_by"] == str(demo["users"]["admin"].id)

    versions = await versions_of(client, headers, "patrol")
    assert [v["number"] for v in versions] == [2, 1]
    listed = {t["key"]: t for t in (await client.get("/api/templates", headers=headers)).json()}
    assert listed["patrol"]["latest"]["id"] == published["id"]
    assert listed["patrol"]["title"]["zh"] == "日常巡查记录表(修订)"

    await db.rollback()
    entries = (await db.scalars(select(AuditEntry).where(AuditEntry.entity == "template_version"))).all()
    assert [(e.action, e.entity_id, e.username) for e in entries] == [("publish", published["id"], "admin")]
    assert entries[0].after == {"key": "patrol", "number": 2, "content_hash": published["content_hash"]}

    # the same content again: nothing new, not audited again
    again = await client.post("/api/templates", content=json.dumps(raw).encode(), headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == published["id"]
    await db.rollback()
    assert await db.scalar(select(func.count()).where(AuditEntry.entity == "template_version")) == 1


@pytest.mark.parametrize("role", ["cs_manager", "engineer", "developer_rep", "contractor"])
async def test_only_admins_publish(client: Any, demo: dict[str, Any], db: AsyncSession, role: str) -> None:
    before = await count_versions(db)
    headers = await headers_for(client, demo, role)
    resp = await client.post("/api/templates", content=json.dumps(edited_patrol()).encode(), headers=headers)
    assert resp.status_code == 403
    workbook = export_xlsx(parse_template(json.dumps(edited_patrol())))
    resp = await client.post("/api/templates/import", content=workbook, headers={**headers, "Content-Type": XLSX})
    assert resp.status_code == 403
    assert await count_versions(db) == before


async def test_invalid_template_lists_every_problem(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    before = await count_versions(db)
    headers = await headers_for(client, demo, "admin")
    raw = edited_patrol()
    raw["sections"][0]["items"][0]["visible_if"] = {"item": "ghost", "op": "answered"}
    raw["sections"][0]["items"][1]["key"] = "patrol_date"
    resp = await client.post("/api/templates", content=json.dumps(raw).encode(), headers=headers)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["type"].endswith("/invalid")
    assert {(e["field"], e["message"]) for e in problem["errors"]} == {
        ("sections[0].items[0].visible_if.item", "unknown item 'ghost'"),
        ("sections[0].items[1].key", "duplicate item 'patrol_date' (first at sections[0].items[0])"),
    }
    broken = await client.post("/api/templates", content=b'{"key": ', headers=headers)
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "$"
    assert await count_versions(db) == before


async def test_a_new_version_cannot_change_kind(client: Any, demo: dict[str, Any]) -> None:
    headers = await headers_for(client, demo, "admin")
    raw: dict[str, Any] = msgspec.to_builtins(BUNDLED["takeover_civil"])
    raw["discipline"] = "electrical"
    resp = await client.post("/api/templates", content=json.dumps(raw).encode(), headers=headers)
    assert resp.status_code == 409
    assert "cannot change its kind or discipline" in resp.json()["detail"]


async def test_xlsx_export_round_trips(client: Any, demo: dict[str, Any]) -> None:
    headers = await headers_for(client, demo, "engineer")
    [version] = await versions_of(client, headers, "unit_inspection")
    resp = await client.get(f"/api/templates/versions/{version['id']}/xlsx", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == XLSX
    assert resp.headers["content-disposition"] == 'attachment; filename="unit_inspection-v1.xlsx"'
    assert resp.headers["etag"] == f'"{version["content_hash"]}"'
    assert content_hash(import_xlsx(resp.content)) == version["content_hash"]


async def test_xlsx_import_publishes(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    headers = await headers_for(client, demo, "admin")
    [version] = await versions_of(client, headers, "acceptance_summary")
    exported = (await client.get(f"/api/templates/versions/{version['id']}/xlsx", headers=headers)).content
    wb = load_workbook(io.BytesIO(exported))
    wb["设置"]["B7"] = "2025.2"  # the version label
    assert wb["设置"]["A7"].value == "版本 version"
    out = io.BytesIO()
    wb.save(out)
    resp = await client.post("/api/templates/import", content=out.getvalue(), headers={**headers, "Content-Type": XLSX})
    assert resp.status_code == 201, resp.text
    assert (resp.json()["number"], resp.json()["version"]) == (2, "2025.2")
    # the unchanged workbook is the published version 1 again: nothing new
    same = await client.post("/api/templates/import", content=exported, headers={**headers, "Content-Type": XLSX})
    assert same.status_code == 200
    assert same.json()["id"] == version["id"]
    await db.rollback()
    assert await db.scalar(select(func.count()).where(AuditEntry.entity == "template_version")) == 1


async def test_bad_workbook_lists_cells_and_publishes_nothing(
    client: Any, demo: dict[str, Any], db: AsyncSession
) -> None:
    before = await count_versions(db)
    headers = {**(await headers_for(client, demo, "admin")), "Content-Type": XLSX}
    wb = load_workbook(io.BytesIO(export_xlsx(BUNDLED["vacant_unit"])))
    wb["检查项"]["D3"] = "=A1"
    wb["检查项"]["C4"] = "slider"
    wb["选项"].merge_cells("C2:D2")
    out = io.BytesIO()
    wb.save(out)
    resp = await client.post("/api/templates/import", content=out.getvalue(), headers=headers)
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["detail"] == "the workbook is invalid; nothing was published"
    cells = [(e["sheet"], e["row"], e["column"], e["field"]) for e in problem["errors"]]
    assert cells == [
        ("检查项", 3, "D", "检查项!D3"),
        ("检查项", 4, "C", "检查项!C4"),
        ("选项", 2, "C", "选项!C2"),
    ]
    assert "formula" in problem["errors"][0]["message"]

    not_xlsx = await client.post("/api/templates/import", content=b"hello", headers=headers)
    assert not_xlsx.status_code == 422
    assert not_xlsx.json()["errors"][0]["field"] == "(workbook)"
    empty = await client.post("/api/templates/import", content=b"", headers=headers)
    assert empty.status_code == 422
    multipart = await client.post(
        "/api/templates/import",
        content=b"--x\r\n",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert multipart.status_code == 422
    assert "not a multipart form" in multipart.json()["detail"]
    assert await count_versions(db) == before


async def test_publishing_bundled_again_adds_nothing(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    await db.rollback()
    first = {v.key: v.id for v in await svc.latest_versions(db)}
    again = await svc.publish_bundled(db)
    assert {v.key: v.id for v in again} == first
    assert await count_versions(db) == len(BUNDLED)


async def test_judging_with_a_published_version(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    """As the sync engine judges a submitted inspection: the version's template
    through `template_index`, then `judge`."""
    await db.rollback()
    latest = {v.key: v for v in await svc.latest_versions(db)}
    version_id = latest["acceptance_summary"].id
    answers = {
        "answers": {"project": {"value": "阳光花园"}, "acceptance_date": {"value": "2025-06-01"}},
        "instances": {
            "disciplines": [
                {"id": "civil", "answers": {"discipline_result": {"value": "rectify", "note": "外墙渗漏"}}},
            ]
        },
    }
    index = await template_index(db, version_id)
    assert index is not None
    judgement = judge(index.template, answers)
    assert judgement.template_hash == latest["acceptance_summary"].content_hash
    assert not judgement.complete
    [failure] = judgement.failures
    assert (failure.path, failure.severity, failure.responsible) == (
        "disciplines/civil/discipline_result",
        "important",
        "developer",
    )
    assert judge_json_round_trips(judgement)

    with pytest.raises(AnswersInvalid) as info:
        judge(index.template, {"answers": {"ghost": {"value": 1}}})
    assert [(p.path, p.message) for p in info.value.problems] == [("answers.ghost", "unknown item 'ghost'")]
    assert await template_index(db, uuid.uuid4()) is None
    # Read and indexed once per process (a published version never changes); a
    # bundled version serves every company, a company's own version no other.
    assert await template_index(db, version_id, uuid.uuid4()) is index
    company = demo["project"].company_id
    title = msgspec.structs.replace(index.template.title, zh="物业验收汇总单（本公司）")
    ours = msgspec.structs.replace(index.template, title=title)
    own = await svc.publish(db, ours, company_id=company)
    await db.commit()
    assert await template_index(db, own.id, company) is not None
    assert await template_index(db, own.id, uuid.uuid4()) is None
    assert await template_index(db, own.id) is not None


def judge_json_round_trips(judgement: Any) -> bool:
    return bool(msgspec.json.decode(msgspec.json.encode(judgement))["template_key"] == "acceptance_summary")


def test_a_broken_bundled_template_stops_start_up(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "patrol.json").write_text('{"key": "patrol", "kind": "patrol", "title": {"zh": "巡查"}}')
    monkeypatch.setattr(checklists.loader, "BUNDLED_DIR", bundled)
    with pytest.raises(TemplateFileError) as info:
        create_app(settings, lifespan_hooks=[])
    assert info.value.file == str(bundled / "patrol.json")
    assert (info.value.path, info.value.reason) == ("$", "Object missing required field `version`")


async def test_a_company_publishes_for_itself_only(client: Any, demo: dict[str, Any], db: AsyncSession) -> None:
    """Another company's admin publishes a revised patrol form: it is theirs alone —
    not listed, not fetchable, not handed to our devices, not usable in our inspections."""
    from tests.factories import other_company
    from tests.sync_harness import device, new_inspection

    await other_company(db, "other-pass-1")
    theirs = await auth_headers(client, "other_admin", "other-pass-1")
    resp = await client.post(
        "/api/templates",
        content=json.dumps(edited_patrol("他们的巡查表")).encode(),
        headers={**theirs, "Content-Type": "application/json"},
    )
    assert resp.status_code == 201, resp.text
    their_version = resp.json()["id"]
    assert resp.json()["number"] == 2  # after the bundled version 1, in their numbering
    ours = await headers_for(client, demo, "engineer")
    assert their_version not in {v["id"] for v in await versions_of(client, ours, "patrol")}
    assert (await client.get(f"/api/templates/versions/{their_version}", headers=ours)).status_code == 404
    assert (await client.get(f"/api/templates/versions/{their_version}/xlsx", headers=ours)).status_code == 404
    dev = await device(client, "engineer", demo["password"], "pad-t")
    await dev.pull()
    patrol_refs = [t for t in dev.templates if t["key"] == "patrol"]
    assert len(patrol_refs) == 1 and patrol_refs[0]["id"] != their_version
    unit_id = next(iter(dev.replica["unit"]))
    new_inspection(dev, uuid.UUID(their_version), uuid.UUID(unit_id), kind="patrol")
    result = (await dev.push())[0]
    assert result.status == "rejected" and "template_version_id" in (result.reason or "")
    # Their own devices get their version.
    their_dev = await device(client, "other_engineer", "other-pass-1", "their-pad")
    await their_dev.pull()
    assert [t["id"] for t in their_dev.templates if t["key"] == "patrol"] == [their_version]
