"""The sync protocol's messages (msgspec Structs). See docs/sync-protocol.md.

Evolution rule: every field added to a message has a default, and the server
accepts the current protocol version and the one before it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

#: The protocol this code speaks, and the oldest one the server still accepts.
PROTOCOL_VERSION = 3
MIN_PROTOCOL_VERSION = 2
#: The first protocol whose pull pages hold `runs` (records as rows of values)
#: instead of `changes` (each record as an object with its keys).
RUNS_PROTOCOL = 3

DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
MutationId = Annotated[int, msgspec.Meta(ge=1)]

Op = Literal["put", "delete", "submit", "resolve"]
Status = Literal["applied", "conflict", "rejected"]


def _device_clock(value: datetime | None) -> datetime | None:
    """A device's clock as it reported it. One without an offset is taken as UTC:
    the time is only stored, and refusing it would refuse the whole push — the
    device's queue would never move. (Times a device writes into records must name
    their offset; those are checked, and refused, mutation by mutation.)"""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Mutation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One change made on a device.

    - ``id``: the device's own counter, 1, 2, 3 … never reused.
    - ``op``: ``put`` (create or update fields), ``delete``, ``submit`` (an
      inspection), ``resolve`` (a conflict, managers only).
    - ``fields``: for ``put`` the new values; for ``resolve`` ``{"value": …}``.
    - ``base``: the values of those fields as the device last saw them from the
      server (absent for a field the device created). A mutation without ``base``
      is merged as if the device were up to date, except that a recorded failure
      counts as stale (sync-protocol.md §Merge).
    - ``client_time``: the device's clock — stored, never used for ordering (one
      without an offset is taken as UTC, `_device_clock`).
    """

    id: MutationId
    op: Op
    entity: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    key: uuid.UUID
    fields: dict[str, Any] = {}
    base: dict[str, Any] | None = None
    client_time: datetime | None = None

    def __post_init__(self) -> None:
        self.client_time = _device_clock(self.client_time)


class PushRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    protocol: int
    device_id: DeviceId
    mutations: Annotated[list[Mutation], msgspec.Meta(max_length=1000)]
    client_time: datetime | None = None

    def __post_init__(self) -> None:
        self.client_time = _device_clock(self.client_time)


class MutationResult(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: int
    status: Status
    reason: str | None = None
    code: str | None = None
    conflicts: list[uuid.UUID] = []


class PushResponse(msgspec.Struct, kw_only=True):
    protocol: int
    last_mutation_id: int
    results: list[MutationResult]


class PullRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    protocol: int
    device_id: DeviceId
    cursor: str | None = None
    max_bytes: Annotated[int, msgspec.Meta(ge=16_384, le=8_388_608)] = 1_048_576


class Change(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One record as the server now holds it, or its deletion (``deleted`` true,
    ``data`` absent). ``id`` and ``project_id`` are UUIDs, decoded as their text:
    a client keys its copy by them (as the values in ``data`` are text too), and a
    first sync decodes hundreds of thousands."""

    entity: str
    id: str
    project_id: str
    version: int
    deleted: bool = False
    data: dict[str, Any] | None = None


class Run(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Protocol 3: consecutive changes of one entity in one project, of one kind —
    records (``rows``, each the values of ``columns`` in that order; the first two
    columns are ``id`` and ``version``, the rest are what a `Change` holds in
    ``data``) or deletions (``deleted``, each ``[id, version]``). The same changes
    as protocol 2's, in the same order, each key written once per run instead of
    once per record: about half the bytes, and a page holds twice the records."""

    entity: str
    project_id: str
    columns: list[str] = []
    rows: list[list[Any]] = []
    deleted: list[tuple[str, int]] = []

    def changes(self) -> list[Change]:
        """The run as protocol 2's changes."""
        if self.deleted:
            return [
                Change(entity=self.entity, id=i, project_id=self.project_id, version=v, deleted=True)
                for i, v in self.deleted
            ]
        names = self.columns[2:]
        return [
            Change(
                entity=self.entity,
                id=row[0],
                project_id=self.project_id,
                version=row[1],
                data=dict(zip(names, row[2:], strict=True)),
            )
            for row in self.rows
        ]


class TemplateRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    content_hash: str


class PullResponse(msgspec.Struct, kw_only=True):
    #: The protocol the page is written in: the request's.
    protocol: int
    cursor: str
    has_more: bool
    #: Protocol 2: the changes, one object each.
    changes: list[Change] = []
    #: Protocol 3: the same changes as runs of rows.
    runs: list[Run] = []
    #: Projects in the device's scope now.
    projects: list[uuid.UUID]
    #: Projects the device must forget (access withdrawn).
    removed_projects: list[uuid.UUID] = []
    #: Projects whose local copy the device must drop before applying this page,
    #: because its cursor was older than the tombstone horizon (a full resync follows).
    reset_projects: list[uuid.UUID] = []
    #: The device's last mutation applied by the server; present on the last page
    #: only, read in the same pass as the changes it accounts for.
    last_mutation_id: int | None = None
    templates: list[TemplateRef] = []

    def all_changes(self) -> list[Change]:
        """Every change of the page, in order, whichever protocol wrote it."""
        return [*self.changes, *(change for run in self.runs for change in run.changes())]

    def count(self) -> int:
        """How many changes the page holds (without building them)."""
        return len(self.changes) + sum(len(run.rows) + len(run.deleted) for run in self.runs)


class RunPage(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A `Run` as the server builds it: its rows (or deletions) already JSON."""

    entity: str
    project_id: str
    columns: tuple[str, ...] = ()
    rows: msgspec.Raw | None = None
    deleted: msgspec.Raw | None = None


class PullPage(msgspec.Struct, kw_only=True):
    """A protocol 2 `PullResponse` as the server builds it: the same JSON, but each
    change is already encoded (`msgspec.Raw`) — the pull measured its size by
    encoding it, so it is not encoded a second time. Clients decode it as
    `PullResponse`."""

    protocol: int
    cursor: str
    has_more: bool
    changes: list[msgspec.Raw]
    projects: list[uuid.UUID]
    removed_projects: list[uuid.UUID] = []
    reset_projects: list[uuid.UUID] = []
    last_mutation_id: int | None = None
    templates: list[TemplateRef] = []


class PullRunsPage(msgspec.Struct, kw_only=True):
    """A protocol 3 `PullResponse` as the server builds it (`runs`, no `changes`)."""

    protocol: int
    cursor: str
    has_more: bool
    runs: list[RunPage]
    projects: list[uuid.UUID]
    removed_projects: list[uuid.UUID] = []
    reset_projects: list[uuid.UUID] = []
    last_mutation_id: int | None = None
    templates: list[TemplateRef] = []
