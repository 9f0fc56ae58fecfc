"""The store named by ``settings.storage_url`` (one per URL per process)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from server.storage.base import Storage


@lru_cache(maxsize=8)
def storage_for(url: str) -> Storage:
    """``file:///abs/path`` or ``s3://bucket[/prefix]?endpoint=…&region=…&addressing=…``."""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        from server.storage.local import FileStorage

        parts = urlsplit(url)
        if parts.netloc not in {"", "localhost"}:
            raise ValueError(f"file storage URL must be file:///absolute/path, got {url}")
        return FileStorage(Path(unquote(parts.path)))
    if scheme == "s3":
        from server.storage.s3 import S3Storage

        return S3Storage.from_url(url)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///abs/path or s3://bucket?endpoint=…")
