"""Login, refresh rotation, revocation, throttling."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import update

from server.accounts.models import RefreshToken
from server.lib.clock import utcnow
from tests.factories import login


async def test_login_gives_tokens_and_me_works(client: Any, demo: dict[str, Any]) -> None:
    tokens = await login(client, "engineer", demo["password"])
    assert tokens["token_type"] == "Bearer"
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["username"] == "engineer"
    assert body["user"]["role"] == "engineer"
    assert body["device_id"] == "tablet-1"
    assert body["project_ids"] == [str(demo["project"].id)]


async def test_wrong_password_is_401_problem(client: Any, demo: dict[str, Any]) -> None:
    resp = await client.post("/api/auth/login", json={"username": "engineer", "password": "nope", "device_id": "t"})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"] == "wrong username or password"
    # An unknown user answers exactly the same way.
    resp2 = await client.post("/api/auth/login", json={"username": "ghost", "password": "x", "device_id": "t"})
    assert resp2.status_code == 401
    assert resp2.json()["detail"] == resp.json()["detail"]


async def test_no_token_and_bad_token_are_401(client: Any, demo: dict[str, Any]) -> None:
    assert (await client.get("/api/units")).status_code == 401
    resp = await client.get("/api/units", headers={"Authorization": "Bearer not-a-jwt"})
    assert resp.status_code == 401
    assert resp.json()["detail"] == "invalid access token"


async def test_refresh_rotates_and_old_token_reuse_revokes_session(client: Any, demo: dict[str, Any], db: Any) -> None:
    first = await login(client, "cs_assistant", demo["password"], device_id="pad-7")
    resp = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"], "device_id": "pad-7"})
    assert resp.status_code == 201
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The new access token works.
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200
    # Age the rotation past the grace period: reusing the old token now looks like theft.
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.used_at.is_not(None))
        .values(used_at=utcnow().replace(year=utcnow().year - 1))
    )
    await db.commit()
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"], "device_id": "pad-7"})
    assert reuse.status_code == 401
    assert "revoked" in reuse.json()["detail"]
    # The whole device session is gone: the newer refresh token and access token too.
    again = await client.post(
        "/api/auth/refresh", json={"refresh_token": second["refresh_token"], "device_id": "pad-7"}
    )
    assert again.status_code == 401
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 401


async def test_refresh_retry_after_lost_response_within_grace_keeps_device_working(
    client: Any, demo: dict[str, Any]
) -> None:
    first = await login(client, "engineer", demo["password"], device_id="pad-1")
    body = {"refresh_token": first["refresh_token"], "device_id": "pad-1"}
    lost = await client.post("/api/auth/refresh", json=body)  # the tablet never sees this answer
    assert lost.status_code == 201
    retry = await client.post("/api/auth/refresh", json=body)
    assert retry.status_code == 201
    fresh = retry.json()
    # The token from the lost response is retired; the retry's token works.
    assert (
        await client.post(
            "/api/auth/refresh", json={"refresh_token": lost.json()["refresh_token"], "device_id": "pad-1"}
        )
    ).status_code in (201, 401)
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    assert me.status_code == 200


async def test_refresh_is_bound_to_device(client: Any, demo: dict[str, Any]) -> None:
    first = await login(client, "engineer", demo["password"], device_id="pad-1")
    resp = await client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"], "device_id": "other-pad"}
    )
    assert resp.status_code == 401
    assert "another device" in resp.json()["detail"]


async def test_revoke_one_device_or_all(client: Any, demo: dict[str, Any]) -> None:
    pw = demo["password"]
    a = await login(client, "engineer", pw, device_id="pad-a")
    b = await login(client, "engineer", pw, device_id="pad-b")
    admin = await login(client, "admin", pw, device_id="desk")
    admin_h = {"Authorization": f"Bearer {admin['access_token']}"}
    uid = demo["users"]["engineer"].id
    resp = await client.post(f"/api/auth/users/{uid}/revoke", json={"device_id": "pad-a"}, headers=admin_h)
    assert resp.status_code == 201
    assert resp.json() == {"revoked": 1}
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {a['access_token']}"})
    ).status_code == 401
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {b['access_token']}"})
    ).status_code == 200
    refresh_a = await client.post("/api/auth/refresh", json={"refresh_token": a["refresh_token"], "device_id": "pad-a"})
    assert refresh_a.status_code == 401
    resp = await client.post(f"/api/auth/users/{uid}/revoke", json={}, headers=admin_h)
    assert resp.json() == {"revoked": 1}
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {b['access_token']}"})
    ).status_code == 401


async def test_engineer_cannot_revoke_someone_else(client: Any, demo: dict[str, Any]) -> None:
    eng = await login(client, "engineer", demo["password"])
    uid = demo["users"]["cs_assistant"].id
    resp = await client.post(
        f"/api/auth/users/{uid}/revoke", json={}, headers={"Authorization": f"Bearer {eng['access_token']}"}
    )
    assert resp.status_code == 403


async def test_failed_logins_are_throttled_per_user(client: Any, demo: dict[str, Any]) -> None:
    for _ in range(5):
        r = await client.post("/api/auth/login", json={"username": "engineer", "password": "bad", "device_id": "t"})
        assert r.status_code == 401
    # Now even the right password is refused for a while, with Retry-After.
    r = await client.post(
        "/api/auth/login", json={"username": "engineer", "password": demo["password"], "device_id": "t"}
    )
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    # Another user from elsewhere is not affected by this user's lock … (same address here, under 20)
    ok = await client.post(
        "/api/auth/login", json={"username": "admin", "password": demo["password"], "device_id": "t"}
    )
    assert ok.status_code == 201


async def test_failed_logins_are_throttled_per_address(client: Any, demo: dict[str, Any]) -> None:
    for i in range(20):
        r = await client.post("/api/auth/login", json={"username": f"ghost{i}", "password": "bad", "device_id": "t"})
        assert r.status_code == 401
    r = await client.post("/api/auth/login", json={"username": "admin", "password": demo["password"], "device_id": "t"})
    assert r.status_code == 429
    assert "address" in r.json()["detail"]


async def test_two_racing_refreshes_do_not_both_rotate(client: Any, demo: dict[str, Any]) -> None:
    first = await login(client, "engineer", demo["password"], device_id="pad-r")
    body = {"refresh_token": first["refresh_token"], "device_id": "pad-r"}
    r1, r2 = await asyncio.gather(
        client.post("/api/auth/refresh", json=body), client.post("/api/auth/refresh", json=body)
    )
    codes = sorted([r1.status_code, r2.status_code])
    # Either both succeed through the lost-response grace path (one retired), or one is refused.
    assert codes in ([201, 201], [201, 401])


async def test_the_callers_projects_follow_role_membership_and_company(
    client: Any, db: Any, demo: dict[str, Any]
) -> None:
    """Read with the caller's identity on every request (one query): an admin sees
    every project of its company and no other company's; anyone else the projects
    it is a member of; a member of none, none."""
    from sqlalchemy import delete

    from server.accounts.models import ProjectMember
    from server.places.models import Project
    from tests.factories import other_company

    other = await other_company(db, "other-pass-1")
    second = Project(company_id=demo["project"].company_id, name="第二小区 Second Estate")
    db.add(second)
    engineer = demo["users"]["engineer"]
    await db.commit()

    async def projects(username: str, password: str) -> set[str]:
        tokens = await login(client, username, password)
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 200
        return set(me.json()["project_ids"])

    assert await projects("admin", demo["password"]) == {str(demo["project"].id), str(second.id)}
    assert await projects("engineer", demo["password"]) == {str(demo["project"].id)}
    assert await projects("other_engineer", "other-pass-1") == {str(other["project"].id)}
    await db.execute(delete(ProjectMember).where(ProjectMember.user_id == engineer.id))
    await db.commit()
    assert await projects("engineer", demo["password"]) == set()
