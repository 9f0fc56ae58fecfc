"""HTTP for the sync engine: push, pull, and the managers' conflict list."""

from __future__ import annotations

import functools
from typing import Any, cast

import msgspec
from litestar import Controller, Request, post
from litestar.exceptions import SerializationException
from litestar.params import JSONBody

from server.accounts.deps import CurrentUser
from server.audit.sync_writes import ACTOR_KEY
from server.db.session import DB
from server.syncing.registry import registry
from server.syncing.templates import template_refs
from sync.protocol import PullRequest, PullResponse, PushRequest, PushResponse
from sync.pull import pull
from sync.push import push
from sync.wellformed import loads_well_formed

_PUSH_REQUEST = msgspec.json.Decoder(PushRequest)


class PushRequestBody(Request[Any, Any, Any]):
    """A push's request. A well-formed one is decoded straight into `PushRequest`
    (one pass over a body of hundreds of mutations, instead of JSON to dicts and
    dicts to the Struct: 0.5 against 0.8–1.4 ms for 500 answers), which Litestar
    then takes as it is. Any other body goes Litestar's way, unchanged: its 422
    names the misshapen field, and JSON that msgspec refuses only for lone UTF-16
    surrogates in its text is read again with each one replaced by U+FFFD
    (`sync.wellformed`), so that one broken character cannot stop a device's queue
    for good."""

    async def json(self) -> Any:
        try:
            return _PUSH_REQUEST.decode(await self.body())
        except msgspec.MsgspecError:
            pass
        try:
            return await super().json()
        except SerializationException:
            value = loads_well_formed(await self.body())
            if value is None:
                raise
            return value


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync 同步"]  # noqa: RUF012

    @post(
        "/push",
        status_code=200,
        summary="Apply a device's mutations exactly once 上传变更",
        request_class=PushRequestBody,
    )
    async def push(self, data: JSONBody[PushRequest], db: DB, principal: CurrentUser) -> PushResponse:
        db.sync_session.info[ACTOR_KEY] = principal  # every write of this push is audited
        return await push(db, registry(), principal, principal.device_id, data)

    @post("/pull", status_code=200, summary="Changes since a cursor, page by page 拉取变更")
    async def pull(self, data: JSONBody[PullRequest], db: DB, principal: CurrentUser) -> PullResponse:
        page = await pull(
            db,
            registry(),
            principal,
            principal.device_id,
            data,
            templates=functools.partial(template_refs, db, principal.company_id),
        )
        # A PullPage is a PullResponse whose changes are already JSON (the same bytes
        # on the wire); the annotation is what the API documents and clients decode.
        return cast(PullResponse, page)
