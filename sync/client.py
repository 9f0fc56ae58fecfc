"""A reference sync client in Python: a local replica and an outbox, like a tablet.

The tests use it to simulate many devices (lost responses, retries, offline
days); later it drives load tests. The PWA implements the same protocol.

- `replica`: records as the server last sent them (entity → id → data).
- `outbox`: mutations made locally and not yet acknowledged by the server.
- `sent`: mutations the server acknowledged whose effects no pull has brought yet.
- `view()`: the replica with `sent` and the outbox applied on top (what the user
  sees, and the `base` of the next edit).
"""

from __future__ import annotations

import bisect
import copy
import gc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec

from sync.protocol import (
    PROTOCOL_VERSION,
    Mutation,
    MutationResult,
    Op,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
)


class TransportError(Exception):
    """The request may or may not have reached the server; nothing came back."""


class HTTPStatusError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body.get('detail')}")
        self.status = status
        self.body = body


#: path, the request's JSON (bytes, as sent) → (status, the answer's JSON: its bytes,
#: or already decoded). Raises TransportError when the answer is lost. Bytes are
#: decoded straight into the protocol's Structs (msgspec), the fastest way for a
#: first pull; the request is encoded from its Struct in one step, the fastest way
#: for a push of hundreds of mutations.
Transport = Callable[[str, bytes], Awaitable[tuple[int, bytes | dict[str, Any]]]]
_T = TypeVar("_T")


def _decode(data: bytes, into: type[_T]) -> _T:
    """The answer's JSON decoded into its Struct with the garbage collector paused: a
    page of a first pull is thousands of rows, each a new list, none of which can be
    garbage while the page is decoded, and the collector's passes over them (and, as
    they pile up, over the rest of the heap) cost more than the decoding itself
    (measured: 30 pages in 0.13–0.30 s paused against 0.37–0.85 s). Nothing else runs
    in this thread meanwhile; the collector is left as it was found."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return msgspec.json.decode(data, type=into)
    finally:
        if paused:
            gc.enable()


def _error_body(data: bytes | dict[str, Any]) -> dict[str, Any]:
    """An error answer as a dict: problem+json, or whatever a proxy sent instead."""
    if not isinstance(data, bytes):
        return data
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return {"detail": data.decode("utf-8", "replace")[:500]}
    return body if isinstance(body, dict) else {"detail": body}


class SyncClient:
    def __init__(
        self,
        transport: Transport,
        device_id: str,
        *,
        protocol: int = PROTOCOL_VERSION,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.transport = transport
        self.device_id = device_id
        self.protocol = protocol
        self.clock = clock or (lambda: datetime.now(UTC))
        self.replica: dict[str, dict[str, dict[str, Any]]] = {}
        self.project_of: dict[tuple[str, str], str] = {}
        self.outbox: list[Mutation] = []
        self.sent: list[Mutation] = []
        self.next_id = 1
        self.acked = 0
        self.cursor: str | None = None
        self.projects: list[str] = []
        self.templates: list[dict[str, Any]] = []
        self.results: dict[int, MutationResult] = {}
        #: every mutation ever made here, acknowledged or not (for tests and debugging)
        self.journal: list[Mutation] = []

    # --- local edits ----------------------------------------------------------------------

    def _enqueue(
        self,
        op: str,
        entity: str,
        key: uuid.UUID | str,
        fields: dict[str, Any] | None = None,
        base: dict[str, Any] | None = None,
    ) -> Mutation:
        m = Mutation(
            id=self.next_id,
            op=cast(Op, op),
            entity=entity,
            key=uuid.UUID(str(key)),
            fields=msgspec.to_builtins(fields or {}),
            base=base,
            client_time=self.clock(),
        )
        self.next_id += 1
        self.outbox.append(m)
        self.journal.append(m)
        return m

    def put(self, entity: str, key: uuid.UUID | str, **fields: Any) -> Mutation:
        """Create or change fields; `base` is what this device believes the server holds."""
        current = self.view(entity, key)
        base = {f: current[f] for f in fields if current is not None and f in current}
        return self._enqueue("put", entity, key, fields, base)

    def delete(self, entity: str, key: uuid.UUID | str) -> Mutation:
        return self._enqueue("delete", entity, key)

    def submit(self, entity: str, key: uuid.UUID | str) -> Mutation:
        return self._enqueue("submit", entity, key)

    def resolve(self, conflict_id: uuid.UUID | str, choice: str, value: Any = None) -> Mutation:
        return self._enqueue("resolve", "conflict", conflict_id, {"choice": choice, "value": value})

    def view(self, entity: str, key: uuid.UUID | str) -> dict[str, Any] | None:
        rec = copy.deepcopy(self.replica.get(entity, {}).get(str(key)))
        for m in [*self.sent, *self.outbox]:
            if m.entity != entity or str(m.key) != str(key):
                continue
            if m.op == "put":
                rec = {**(rec or {}), **m.fields}
            elif m.op == "delete":
                rec = None
        return rec

    # --- talking to the server ------------------------------------------------------------

    async def _post(self, path: str, body: msgspec.Struct, into: type[_T]) -> _T:
        status, data = await self.transport(path, msgspec.json.encode(body))
        if status >= 400:
            raise HTTPStatusError(status, _error_body(data))
        if isinstance(data, bytes):
            return _decode(data, into)
        return msgspec.convert(data, into)

    async def push(self, batch: int = 500) -> list[MutationResult]:
        """Send the outbox in order. A lost answer raises TransportError and
        leaves the outbox as it was: the next push resends, the server answers
        the applied part from its records."""
        done: list[MutationResult] = []
        while self.outbox:
            chunk = self.outbox[:batch]
            req = PushRequest(
                protocol=self.protocol, device_id=self.device_id, mutations=chunk, client_time=self.clock()
            )
            try:
                resp = await self._post("/api/sync/push", req, PushResponse)
            except HTTPStatusError as exc:
                if exc.status == 409 and "expected" in exc.body:
                    # The server has applied fewer than we thought: resend from there.
                    expected = int(exc.body["expected"])
                    if expected > chunk[0].id:
                        self._ack(expected - 1)
                        continue
                    if self._resend_from(expected):
                        continue
                raise
            for r in resp.results:
                self.results[r.id] = r
            done.extend(resp.results)
            self._ack(resp.last_mutation_id)
        return done

    def _resend_from(self, expected: int) -> bool:
        """The server knows fewer of our mutations than it once acknowledged (it was
        restored from a backup): put the lost ones back in the outbox from the
        journal, in order, so nothing recorded here is lost. False if the journal
        does not reach back that far."""
        lost = [m for m in self.journal if expected <= m.id < (self.outbox[0].id if self.outbox else self.next_id)]
        if not lost or lost[0].id != expected:
            return False
        self.outbox = lost + self.outbox
        self.sent = [m for m in self.sent if m.id < expected]
        self.acked = expected - 1
        return True

    def _ack(self, last: int) -> None:
        """The server applied everything up to `last` (push answer)."""
        self.acked = max(self.acked, last)
        # The outbox is in id order: the acknowledged ones are its head.
        n = bisect.bisect_right(self.outbox, self.acked, key=lambda m: m.id)
        self.sent += self.outbox[:n]
        del self.outbox[:n]

    def _confirm(self, last: int) -> None:
        """A complete pull brought the effects of everything up to `last`."""
        self._ack(last)
        self.sent = [m for m in self.sent if m.id > last]

    async def pull(self, max_bytes: int = 1_048_576) -> int:
        """Pull every page; returns how many changes were applied."""
        applied = 0
        while True:
            req = PullRequest(protocol=self.protocol, device_id=self.device_id, cursor=self.cursor, max_bytes=max_bytes)
            page = await self._post("/api/sync/pull", req, PullResponse)
            for p in [*page.removed_projects, *page.reset_projects]:
                self._drop_project(str(p))
            for ch in page.all_changes():  # (protocol 3's runs as protocol 2's changes)
                table = self.replica.setdefault(ch.entity, {})
                if ch.deleted:
                    table.pop(ch.id, None)
                    self.project_of.pop((ch.entity, ch.id), None)
                else:
                    table[ch.id] = msgspec.to_builtins(ch.data or {})
                    self.project_of[(ch.entity, ch.id)] = ch.project_id
                applied += 1
            self.cursor = page.cursor
            self.projects = [str(p) for p in page.projects]
            if page.last_mutation_id is not None:
                self._confirm(page.last_mutation_id)
            if not page.has_more:  # the last page carries the templates to hold
                self.templates = [msgspec.to_builtins(t) for t in page.templates]
                return applied

    def _drop_project(self, project_id: str) -> None:
        for (entity, key), p in list(self.project_of.items()):
            if p == project_id:
                self.replica.get(entity, {}).pop(key, None)
                del self.project_of[(entity, key)]

    async def sync(self) -> None:
        await self.push()
        await self.pull()
