"""A stateful property test of the whole sync loop (hypothesis).

Random devices make random offline edits — answers, notes, photos, corrections,
submissions, deletions — and sync in random order, with answers lost on the way
back and retried. After a final sync:
- every device's replica equals the server's scoped state (an oracle device's
  fresh pull);
- no recorded failure is lost: each failure a device sent is the current value,
  or kept in a conflict, or was deliberately corrected by a device that saw it;
- tickets exist exactly for the failed items of submitted inspections, once.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from server.inspections.models import Inspection, ItemResult
from server.inspections.rules import item_result_id
from server.tickets.models import Ticket
from sync.client import TransportError
from sync.tables import conflicts
from tests.sync_harness import Device, World, answer, device, new_inspection

USERS = ["engineer", "cs_manager", "cs_assistant"]
VALUES = {
    "door": st.sampled_from(["pass", "fail", "na"]),
    "window": st.sampled_from(["pass", "fail"]),
    "flatness": st.integers(min_value=0, max_value=8),
}
FAILS = {"door": lambda v: v == "fail", "window": lambda v: v == "fail", "flatness": lambda v: not 0 <= v <= 4}


class SyncMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.devices: list[Device] = []
        self.inspections: list[uuid.UUID] = []
        #: every failing value a device sent: (item result id, value, mutation id, device index)
        self.failures_sent: list[tuple[uuid.UUID, Any, int, int]] = []
        self.tag = uuid.uuid4().hex[:6]

    @initialize(n=st.integers(min_value=2, max_value=3))
    def make_devices(self, n: int) -> None:
        for i in range(n):
            dev = self.world.run(device(self.world.client, USERS[i], self.world.password, f"{self.tag}-{i}"))
            self.devices.append(dev)
        # Two inspections every device has seen: material for concurrent edits.
        for u in range(2):
            self.create_inspection(0, u)
        for dev in self.devices:
            self.world.run(dev.sync())

    @precondition(lambda self: len(self.inspections) < 3)
    @rule(d=st.integers(0, 2), u=st.integers(0, 2))
    def create_inspection(self, d: int, u: int) -> None:
        dev = self.devices[d % len(self.devices)]
        self.inspections.append(new_inspection(dev, self.world.template_version, self.world.units[u]))

    def visible(self, dev: Device) -> list[uuid.UUID]:
        return [i for i in self.inspections if dev.view("inspection", i) is not None]

    @precondition(lambda self: self.inspections)
    @rule(d=st.integers(0, 2), items=st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=3), data=st.data())
    def answer_items(self, d: int, items: list[str], data: st.DataObject) -> None:
        dev = self.devices[d % len(self.devices)]
        seen = self.visible(dev)
        if not seen:
            return  # this device has not seen an inspection yet
        insp = data.draw(st.sampled_from(seen))
        for item in items:
            value = data.draw(VALUES[item])
            rid = answer(dev, insp, item, value=value)
            if FAILS[item](value):
                self.failures_sent.append((rid, value, dev.outbox[-1].id, d % len(self.devices)))

    @precondition(lambda self: self.inspections)
    @rule(
        first=st.integers(0, 2),
        second=st.integers(0, 2),
        item=st.sampled_from(sorted(VALUES)),
        swap=st.booleans(),
        lose=st.booleans(),
        data=st.data(),
    )
    def race(self, first: int, second: int, item: str, swap: bool, lose: bool, data: st.DataObject) -> None:
        """Two devices, each offline with what it last pulled, answer the same item;
        their pushes then arrive in either order (the first answer maybe lost)."""
        a = self.devices[first % len(self.devices)]
        b = self.devices[second % len(self.devices)]
        if a is b:
            return
        both = [i for i in self.visible(a) if i in self.visible(b)]
        if not both:
            return
        insp = data.draw(st.sampled_from(both))
        for idx, dev in ((first, a), (second, b)):
            value = data.draw(VALUES[item])
            rid = answer(dev, insp, item, value=value)
            if FAILS[item](value):
                self.failures_sent.append((rid, value, dev.outbox[-1].id, idx % len(self.devices)))
        order = [b, a] if swap else [a, b]
        order[0].lose_next_answer = lose
        for dev in order:
            with contextlib.suppress(TransportError):
                self.world.run(dev.push())
            dev.lose_next_answer = False

    @precondition(lambda self: self.inspections)
    @rule(
        d=st.integers(0, 2),
        i=st.integers(0, 50),
        item=st.sampled_from(sorted(VALUES)),
        note=st.text(alphabet="裂缝渗水ab ", min_size=1, max_size=6),
        photo=st.booleans(),
    )
    def note_or_photo(self, d: int, i: int, item: str, note: str, photo: bool) -> None:
        dev = self.devices[d % len(self.devices)]
        insp = self.inspections[i % len(self.inspections)]
        current = dev.view("item_result", item_result_id(insp, "main", "", item))
        if current is None:
            return
        if photo:
            answer(dev, insp, item, photos=[*current.get("photos", []), f"ph-{uuid.uuid4().hex[:6]}"])
        else:
            answer(dev, insp, item, note=note)

    @precondition(lambda self: self.inspections)
    @rule(d=st.integers(0, 2), i=st.integers(0, 50), go=st.integers(0, 2))
    def submit(self, d: int, i: int, go: int) -> None:
        if go:
            return  # submitting freezes the inspection: do it less often than editing
        dev = self.devices[d % len(self.devices)]
        insp = self.inspections[i % len(self.inspections)]
        if dev.view("inspection", insp) is not None:
            dev.submit("inspection", insp)

    @precondition(lambda self: self.inspections)
    @rule(d=st.integers(0, 2), i=st.integers(0, 50), go=st.integers(0, 4))
    def delete(self, d: int, i: int, go: int) -> None:
        if go:
            return  # rarer still
        dev = self.devices[d % len(self.devices)]
        insp = self.inspections[i % len(self.inspections)]
        if dev.view("inspection", insp) is not None:
            dev.delete("inspection", insp)

    @rule(d=st.integers(0, 2), lose=st.booleans(), pull=st.booleans())
    def sync(self, d: int, lose: bool, pull: bool) -> None:
        dev = self.devices[d % len(self.devices)]
        dev.lose_next_answer = lose
        with contextlib.suppress(TransportError):
            self.world.run(dev.push())
        dev.lose_next_answer = False
        if pull:
            self.world.run(dev.pull())

    @invariant()
    def outbox_ids_are_in_order(self) -> None:
        for dev in self.devices:
            ids = [m.id for m in dev.outbox]
            assert ids == sorted(ids) and len(ids) == len(set(ids))

    def teardown(self) -> None:
        if not self.devices:
            return
        for _ in range(2):
            for dev in self.devices:
                self.world.run(dev.sync())
        for dev in self.devices:
            assert dev.outbox == [] and dev.sent == [], "a device still holds unsent or unconfirmed work"
            # Every mutation here is valid by construction: only an incomplete
            # submission may be refused.
            refused = [r for r in dev.results.values() if r.status == "rejected" and r.code != "incomplete"]
            assert not refused, f"valid mutations were rejected: {refused}"
        self.check_replicas()
        self.world.run(self.check_server())

    def check_replicas(self) -> None:
        oracles: dict[str, Device] = {}
        for i, dev in enumerate(self.devices):
            user = USERS[i]
            if user not in oracles:
                oracles[user] = self.world.run(
                    device(self.world.client, user, self.world.password, f"{self.tag}-oracle-{user}")
                )
                self.world.run(oracles[user].pull())
            assert dev.replica == oracles[user].replica, f"device {i} differs from the server's scoped state"

    async def check_server(self) -> None:
        async with self.world.sessions() as db:
            results = {
                r.id: r
                for r in (
                    await db.scalars(select(ItemResult).where(ItemResult.inspection_id.in_(self.inspections)))
                ).all()
            }
            kept = {(c.entity_id, repr(c.server_value)) for c in (await db.execute(select(conflicts))).all()} | {
                (c.entity_id, repr(c.incoming_value)) for c in (await db.execute(select(conflicts))).all()
            }
            for rid, value, mutation_id, d in self.failures_sent:
                dev = self.devices[d]
                res = dev.results.get(mutation_id)
                if res is None or res.status == "rejected":
                    continue  # never applied (e.g. its inspection was unknown)
                row = results.get(rid)
                current = row.value if row else None
                if row is not None and FAILS[row.item_key](current):
                    continue
                if (rid, repr(value)) in kept:
                    continue
                # Otherwise a device that saw this failure changed it on purpose.
                corrected = any(
                    m.entity == "item_result" and m.key == rid and (m.base or {}).get("value") == value
                    for other in self.devices
                    for m in other.journal
                )
                assert corrected, f"failure {value!r} on {rid} was lost (now {current!r})"
            inspections = {
                i.id: i for i in (await db.scalars(select(Inspection).where(Inspection.id.in_(self.inspections)))).all()
            }
            tickets = (await db.scalars(select(Ticket).where(Ticket.inspection_id.in_(self.inspections)))).all()
            by_result: dict[uuid.UUID | None, int] = {}
            for t in tickets:
                by_result[t.item_result_id] = by_result.get(t.item_result_id, 0) + 1
                assert inspections[t.inspection_id].status in ("submitted", "signed")
            assert all(n == 1 for n in by_result.values()), "a second ticket for one item"
            for r in results.values():
                insp = inspections[r.inspection_id]
                if insp.status in ("submitted", "signed") and FAILS[r.item_key](r.value):
                    assert by_result.get(r.id) == 1, f"failed item {r.item_key} of a submitted inspection has no ticket"


@pytest.mark.slow
def test_random_devices_offline_edits_lost_answers_converge(settings: Any) -> None:
    world = World(settings)
    SyncMachine.world = world
    try:
        run_state_machine_as_test(SyncMachine, settings=settings_for_ci())
    finally:
        world.close()


def settings_for_ci() -> Any:
    return hypothesis_settings(
        max_examples=12,
        stateful_step_count=30,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
