"""Settings: read once from the environment into one typed object.

Every setting is an environment variable starting with ``FIELDROUND_``; the README
lists them all. ``load_settings()`` is called once at start-up (app factory, CLI)
and the resulting object is passed down; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    var_dir: Path
    database_url: str
    storage_url: str
    public_url: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    refresh_reuse_grace_seconds: int = 60
    login_max_failures_per_user: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window_minutes: int = 15
    max_body_bytes: int = 2 * 1024 * 1024
    max_photo_bytes: int = 20 * 1024 * 1024
    sync_tombstone_days: int = 90
    sync_result_days: int = 90
    done_job_days: int = 30
    demo_password: str = "fieldround-demo"
    run_embedded_worker: bool = True


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"setting {name}={raw!r} is not an integer") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(env: dict[str, str], var_dir: Path) -> str:
    """The signing key: from the environment, else generated once into var/."""
    given = env.get("FIELDROUND_SECRET_KEY")
    if given:
        if len(given) < 32:
            raise SystemExit("FIELDROUND_SECRET_KEY must be at least 32 characters")
        return given
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("FIELDROUND_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    port = _int(env, "FIELDROUND_PORT", 8000)
    host = env.get("FIELDROUND_HOST") or "127.0.0.1"
    return Settings(
        var_dir=var_dir,
        database_url=env.get("FIELDROUND_DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'fieldround.db'}",
        storage_url=env.get("FIELDROUND_STORAGE_URL") or f"file://{var_dir / 'media'}",
        public_url=(env.get("FIELDROUND_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
        secret_key=_secret_key(env, var_dir),
        host=host,
        port=port,
        workers=_int(env, "FIELDROUND_WORKERS", 1),
        access_token_minutes=_int(env, "FIELDROUND_ACCESS_TOKEN_MINUTES", 15),
        refresh_token_days=_int(env, "FIELDROUND_REFRESH_TOKEN_DAYS", 30),
        refresh_reuse_grace_seconds=_int(env, "FIELDROUND_REFRESH_REUSE_GRACE_SECONDS", 60),
        login_max_failures_per_user=_int(env, "FIELDROUND_LOGIN_MAX_FAILURES_PER_USER", 5),
        login_max_failures_per_address=_int(env, "FIELDROUND_LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
        login_failure_window_minutes=_int(env, "FIELDROUND_LOGIN_FAILURE_WINDOW_MINUTES", 15),
        max_body_bytes=_int(env, "FIELDROUND_MAX_BODY_BYTES", 2 * 1024 * 1024),
        max_photo_bytes=_int(env, "FIELDROUND_MAX_PHOTO_BYTES", 20 * 1024 * 1024),
        sync_tombstone_days=_int(env, "FIELDROUND_SYNC_TOMBSTONE_DAYS", 90),
        sync_result_days=_int(env, "FIELDROUND_SYNC_RESULT_DAYS", 90),
        done_job_days=_int(env, "FIELDROUND_DONE_JOB_DAYS", 30),
        demo_password=env.get("FIELDROUND_DEMO_PASSWORD") or "fieldround-demo",
        run_embedded_worker=_bool(env, "FIELDROUND_EMBEDDED_WORKER", True),
    )
