"""No mutation stops a device's queue (hypothesis).

Whatever a device puts inside a well-formed push — any entity name, operation, key,
field or value (text of any length, numbers of any size, lists and objects where a
word goes, ids and times of records it may not touch) — the push answers every
mutation (applied, conflict or rejected) and answers the good mutation after it
(applied for field staff; a contractor's or developer's, refused as theirs); and
afterwards every device can still pull. A push that fails (500) fails again on every
retry, and the tablet's queue — the defects recorded after it included — never moves.
Found this way: a location over its column's 100 characters (PostgreSQL refused the
row), a conflict on a time resolved (the recorded text set on a time column).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from server.inspections.rules import item_result_id
from server.syncing.registry import registry
from sync.protocol import PROTOCOL_VERSION
from tests.factories import auth_headers
from tests.sync_harness import World, answer, device, new_inspection

#: Every field name some entity takes, and a few no device may write.
FIELD_NAMES = sorted(
    {name for spec in registry().all() for name in spec.fields}
    | {"choice", "value", "note", "deleted", "id", "version", "project_id", "needs_review", "status"}
)
TIMES = ["2026-12-01T12:00:00+08:00", "2026-12-01T12:00:00", "2026-12-01", "12:00", "9999-12-31T23:59:59Z"]
OUTSIDERS = ("contractor", "developer_rep")
WORDS = ["", "pass", "fail", "na", "server", "incoming", "merged", "unit", "item_result", "submitted", "严重", "无异常"]


class Fuzz(World):
    """The `World` (the app on its own event loop), an estate holding records of every
    kind a mutation may name, and four devices (an engineer's, a manager's, a
    contractor's and a developer representative's)."""

    def __init__(self, app_settings: Any) -> None:
        super().__init__(app_settings)
        self.known: list[uuid.UUID] = []
        self.by_entity: dict[str, list[uuid.UUID]] = {}
        self.inspections: list[uuid.UUID] = []
        self.next_id: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.staff: dict[str, bool] = {}
        self.run(self._arrange())

    async def _arrange(self) -> None:
        password = self.password
        eng = await device(self.client, "engineer", password, "fuzz-eng")
        mgr = await device(self.client, "cs_manager", password, "fuzz-mgr")
        # A draft with answers, a submitted inspection with a failure (its ticket),
        # and conflicts on an answer's location and time.
        draft = new_inspection(eng, self.template_version, self.units[0])
        shared = answer(eng, draft, "door", value="pass", location="客厅", answered_at=TIMES[0])
        done = new_inspection(eng, self.template_version, self.units[0])
        for key, value in [("door", "fail"), ("window", "pass"), ("flatness", 2), ("remark", "无")]:
            answer(eng, done, key, value=value)
        eng.submit("inspection", done)
        await eng.sync()
        await mgr.pull()
        eng.put("item_result", shared, location="卧室", answered_at="2026-12-01T13:00:00+08:00")
        mgr.put("item_result", shared, location="厨房", answered_at="2026-12-01T14:00:00+08:00")
        await eng.sync()
        await mgr.sync()
        await mgr.pull()
        # The contractor (its organisation's tickets only) and the developer's
        # representative (acceptance records only) may write little: their pushes
        # of anything must still be answered.
        others = [await device(self.client, role, password, f"fuzz-{role}") for role in OUTSIDERS]
        for dev, name in [(eng, "engineer"), (mgr, "cs_manager"), *zip(others, OUTSIDERS, strict=True)]:
            self.next_id[dev.device_id] = dev.next_id
            self.headers[dev.device_id] = {
                **await auth_headers(self.client, name, password, dev.device_id),
                "Content-Type": "application/json",
            }
            self.staff[dev.device_id] = name not in OUTSIDERS
        self.by_entity = {entity: sorted(map(uuid.UUID, records), key=str) for entity, records in mgr.replica.items()}
        records = {k for keys in self.by_entity.values() for k in keys}
        self.known = sorted(records | {self.template_version, self.units[0]}, key=str)
        self.inspections = [draft, done]
        assert {"inspection", "item_result", "ticket", "conflict"} <= set(self.by_entity)

    async def push(self, device_id: str, junk: dict[str, Any]) -> None:
        """`junk`, then a good mutation (a new inspection), in one push: both answered,
        the good one applied."""
        first = self.next_id[device_id]
        good = {
            "op": "put",
            "entity": "inspection",
            "key": str(uuid.uuid4()),
            "fields": {
                "kind": "unit_inspection",
                "template_version_id": str(self.template_version),
                "target_type": "unit",
                "target_id": str(self.units[0]),
            },
        }
        body = {
            "protocol": PROTOCOL_VERSION,
            "device_id": device_id,
            "mutations": [{"id": first, **junk}, {"id": first + 1, **good}],
        }
        resp = await self.client.post(
            "/api/sync/push", content=json.dumps(body, ensure_ascii=False), headers=self.headers[device_id]
        )
        assert resp.status_code == 200, f"{resp.status_code} for {junk!r}: {resp.text[:500]}"
        results = resp.json()["results"]
        assert [r["id"] for r in results] == [first, first + 1]
        assert results[0]["status"] in {"applied", "conflict", "rejected"}
        if self.staff[device_id]:
            assert results[1]["status"] == "applied", f"after {junk!r}: {results[1]}"
        else:  # (field staff only record inspections)
            assert (results[1]["status"], results[1]["code"]) == ("rejected", "forbidden"), results[1]
        self.next_id[device_id] = first + 2

    async def pull_all(self) -> None:
        for device_id, headers in self.headers.items():
            cursor = None
            for _ in range(1000):
                body = {"protocol": PROTOCOL_VERSION, "device_id": device_id, "cursor": cursor}
                resp = await self.client.post("/api/sync/pull", content=json.dumps(body), headers=headers)
                assert resp.status_code == 200, f"pull of {device_id}: {resp.status_code} {resp.text[:500]}"
                page = resp.json()
                cursor = page["cursor"]
                if not page["has_more"]:
                    break


def values(known: list[uuid.UUID]) -> st.SearchStrategy[Any]:
    words = st.sampled_from(WORDS + TIMES + [str(k) for k in known] + [k.hex for k in known])
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | words
        | st.text(max_size=20)
        | st.text(alphabet="字a", min_size=95, max_size=320)
    )
    return st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    )


def mutations(fuzz: Fuzz) -> st.SearchStrategy[dict[str, Any]]:
    """Junk of every shape, and mutations that pass the first checks (an answer's
    address, a known conflict, an entity's own field names) so that the junk reaches
    the deeper ones and the database."""
    junk = values(fuzz.known)
    names = st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=12)
    entities = [spec.name for spec in registry().all()]
    anything = st.fixed_dictionaries(
        {
            "op": st.sampled_from(["put", "delete", "submit", "resolve"]),
            "entity": st.sampled_from([*entities, "conflict", "nonsense"]),
            "key": (st.sampled_from(fuzz.known) | st.uuids()).map(str),
            "fields": st.dictionaries(names, junk, max_size=4),
        },
        optional={"base": st.none() | st.dictionaries(names, junk, max_size=2)},
    )

    writable = [spec.name for spec in registry().all() if spec.device_writes]

    @st.composite
    def own_fields(draw: st.DrawFn) -> dict[str, Any]:
        spec = registry().get(draw(st.sampled_from(writable)))
        assert spec is not None
        keys = fuzz.by_entity.get(spec.name, [])
        key = draw(st.sampled_from(keys) | st.uuids()) if keys else draw(st.uuids())
        fields = draw(st.dictionaries(st.sampled_from(sorted(spec.fields)), junk, min_size=1, max_size=4))
        return {
            "op": draw(st.sampled_from(["put", "put", "delete"])),
            "entity": spec.name,
            "key": str(key),
            "fields": fields,
        }

    @st.composite
    def answer_edits(draw: st.DrawFn) -> dict[str, Any]:
        inspection = draw(st.sampled_from(fuzz.inspections))
        item = draw(st.sampled_from(["door", "window", "flatness", "remark"]))
        address = {"inspection_id": str(inspection), "section_key": "main", "instance_id": "", "item_key": item}
        spec = registry().get("item_result")
        assert spec is not None
        edits = draw(st.dictionaries(st.sampled_from(sorted(set(spec.fields) - set(address))), junk, max_size=3))
        base = draw(st.none() | st.dictionaries(st.sampled_from(sorted(spec.fields)), junk, max_size=2))
        out = {"op": "put", "entity": "item_result", "key": str(item_result_id(inspection, "main", "", item))}
        return {**out, "fields": {**address, **edits}, "base": base}

    resolutions = st.fixed_dictionaries(
        {
            "op": st.just("resolve"),
            "entity": st.just("conflict"),
            "key": st.sampled_from(fuzz.by_entity["conflict"]).map(str),
            "fields": st.fixed_dictionaries(
                {"choice": st.sampled_from(["server", "incoming", "merged", "value", "other"])},
                optional={"value": junk, "note": junk},
            ),
        }
    )
    return anything | own_fields() | answer_edits() | resolutions


@pytest.mark.slow
def test_no_mutation_stops_a_devices_queue(settings: Any) -> None:
    fuzz = Fuzz(settings)
    try:

        @hypothesis_settings(
            max_examples=120,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def one_push(data: st.DataObject) -> None:
            device_id = data.draw(st.sampled_from(sorted(fuzz.headers)))
            fuzz.run(fuzz.push(device_id, data.draw(mutations(fuzz))))

        one_push()
        fuzz.run(fuzz.pull_all())
    finally:
        fuzz.close()
