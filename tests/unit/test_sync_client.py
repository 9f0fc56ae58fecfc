"""The reference client's handling of answers, without a server."""

from __future__ import annotations

import gc
from typing import Any

import msgspec
import pytest

from sync.client import HTTPStatusError, SyncClient


def client_answering(status: int, body: bytes | dict[str, Any]) -> SyncClient:
    async def transport(path: str, payload: bytes) -> tuple[int, bytes | dict[str, Any]]:
        return status, body

    return SyncClient(transport, "pad-1")


async def test_a_problem_answer_is_raised_with_its_fields() -> None:
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "gap", "expected": 3}
    with pytest.raises(HTTPStatusError) as err:
        await client_answering(409, msgspec.json.encode(problem)).pull()
    assert (err.value.status, err.value.body["expected"], err.value.body["detail"]) == (409, 3, "gap")


async def test_an_answer_that_is_not_json_is_still_an_http_error() -> None:
    """A proxy's HTML error page, say: the device keeps its outbox and tries later."""
    c = client_answering(502, b"<html>502 Bad Gateway</html>")
    c.put("inspection", "0b7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a69", title="x")
    with pytest.raises(HTTPStatusError) as err:
        await c.push()
    assert err.value.status == 502 and "Bad Gateway" in err.value.body["detail"]
    assert len(c.outbox) == 1  # nothing lost


async def test_a_page_given_as_bytes_or_as_decoded_json_reads_the_same() -> None:
    page = {
        "protocol": 2,
        "cursor": "c1",
        "has_more": False,
        "changes": [
            {
                "entity": "unit",
                "id": "0b7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a69",
                "project_id": "1c7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a69",
                "version": 4,
                "data": {"room_no": "0101", "area_m2": 89.5},
            }
        ],
        "projects": ["1c7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a69"],
        "last_mutation_id": 0,
    }
    as_bytes, as_dict = client_answering(200, msgspec.json.encode(page)), client_answering(200, page)
    assert await as_bytes.pull() == await as_dict.pull() == 1
    assert (
        as_bytes.replica
        == as_dict.replica
        == {"unit": {"0b7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a69": {"room_no": "0101", "area_m2": 89.5}}}
    )
    assert as_bytes.cursor == as_dict.cursor == "c1"


@pytest.mark.parametrize("enabled", [True, False])
async def test_decoding_an_answer_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    """The client pauses the collector while it decodes a page; a bad answer included."""
    page = {"protocol": 3, "cursor": "c1", "has_more": False, "projects": [], "last_mutation_id": 0}
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert await client_answering(200, msgspec.json.encode(page)).pull() == 0
        assert gc.isenabled() is enabled
        with pytest.raises(msgspec.ValidationError):
            await client_answering(200, msgspec.json.encode({**page, "cursor": 5})).pull()
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


async def test_acknowledged_mutations_leave_the_outbox_in_order() -> None:
    c = client_answering(200, b"{}")
    for n in range(5):
        c.put("inspection", f"0b7e1f9e-4c1a-4f5e-9a8e-2f1d3c4b5a6{n}", title=str(n))
    c._ack(3)
    assert [m.id for m in c.sent] == [1, 2, 3] and [m.id for m in c.outbox] == [4, 5]
    c._ack(2)  # an older answer acknowledges nothing new
    assert [m.id for m in c.sent] == [1, 2, 3] and [m.id for m in c.outbox] == [4, 5]
    c._ack(5)
    assert [m.id for m in c.sent] == [1, 2, 3, 4, 5] and c.outbox == []
