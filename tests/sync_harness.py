"""Devices for sync tests: a `SyncClient` per (user, tablet) talking to the app
under test, with a switch to lose the next answer; and the `World` the hypothesis
tests share across their examples."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from checklists.loader import parse_template
from server.app import create_app
from server.db.engine import create_engine, create_session_factory
from server.inspections.rules import item_result_id
from server.places.models import Unit
from server.templates.services import publish
from sync.client import SyncClient, TransportError
from tests.factories import demo_estate, login

SMALL_TEMPLATE = Path(__file__).parent / "fixtures" / "templates" / "sync_small.json"


class Device(SyncClient):
    lose_next_answer = False


async def device(client: AsyncTestClient[Any], username: str, password: str, device_id: str, **kwargs: Any) -> Device:
    tokens = await login(client, username, password, device_id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "application/json"}
    dev: Device

    async def transport(path: str, body: bytes) -> tuple[int, bytes]:
        resp = await client.post(path, content=body, headers=headers)
        if dev.lose_next_answer:
            dev.lose_next_answer = False
            raise TransportError("answer lost after the server applied the request")
        return resp.status_code, resp.content

    dev = Device(transport, device_id, **kwargs)
    return dev


async def publish_small_template(db: AsyncSession) -> uuid.UUID:
    version = await publish(db, parse_template(SMALL_TEMPLATE.read_text(encoding="utf-8")))
    await db.commit()
    return version.id


def new_inspection(
    dev: SyncClient, template_version_id: uuid.UUID, unit_id: uuid.UUID, kind: str = "unit_inspection"
) -> uuid.UUID:
    key = uuid.uuid4()
    dev.put(
        "inspection",
        key,
        kind=kind,
        template_version_id=str(template_version_id),
        target_type="unit",
        target_id=str(unit_id),
        status="in_progress",
    )
    return key


def answer(
    dev: SyncClient, inspection_id: uuid.UUID, item_key: str, section: str = "main", instance: str = "", **fields: Any
) -> uuid.UUID:
    key = item_result_id(inspection_id, section, instance, item_key)
    # Every put of an item result carries its address: the put that would have
    # created it may have been refused (its inspection deleted, say), and then
    # this one creates it — or is kept as a conflict, never rejected for want of fields.
    fields = {
        "inspection_id": str(inspection_id),
        "section_key": section,
        "instance_id": instance,
        "item_key": item_key,
        **fields,
    }
    dev.put("item_result", key, **fields)
    return key


def fill_passing(dev: SyncClient, inspection_id: uuid.UUID) -> None:
    answer(dev, inspection_id, "door", value="pass")
    answer(dev, inspection_id, "window", value="pass")
    answer(dev, inspection_id, "flatness", value=2)


async def call(dev: SyncClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """A raw request through the device's transport, its answer decoded to plain JSON."""
    status, data = await dev.transport(path, msgspec.json.encode(body))
    return status, msgspec.json.decode(data) if isinstance(data, bytes) else data


class World:
    """The app under test and its event loop, shared by every example."""

    def __init__(self, app_settings: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.settings = app_settings
        self.app = create_app(app_settings, lifespan_hooks=[])
        self.client = AsyncTestClient(app=self.app)
        self.run(self.client.__aenter__())
        self.engine = create_engine(app_settings.database_url, sqlite_immediate=False)
        self.sessions = create_session_factory(self.engine)

        async def arrange() -> tuple[uuid.UUID, list[uuid.UUID], str]:
            async with self.sessions() as db:
                estate = await demo_estate(db, app_settings.demo_password)
                tv = await publish_small_template(db)
                units = list((await db.scalars(select(Unit.id).limit(3))).all())
                await db.commit()
                return tv, units, estate["password"]

        self.template_version, self.units, self.password = self.run(arrange())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.client.__aexit__(None, None, None))
        self.run(self.engine.dispose())
        self.loop.close()
