"""The storage interface. Keys are made by the server (never from user input) and
checked here anyway: lowercase letters, digits, ``/ . _ -``, no ``..``."""

from __future__ import annotations

import abc
import re
from pathlib import Path

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class StorageError(Exception):
    """The store failed (I/O error, bucket unreachable). Not a client error."""


class ObjectMissing(StorageError):
    """No object under that key."""


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(abc.ABC):
    """Every method is async; blocking work runs off the event loop."""

    #: A short name for logs and docs ("file", "s3").
    scheme: str

    @abc.abstractmethod
    async def put_file(self, key: str, path: Path, content_type: str, *, move: bool = False) -> None:
        """Store the file at ``path`` under ``key`` (replacing any object there).

        ``move=True``: the caller gives the file away; a local store may rename it
        into place instead of copying it."""

    @abc.abstractmethod
    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``."""

    @abc.abstractmethod
    async def get_bytes(self, key: str) -> bytes:
        """The object's bytes; `ObjectMissing` if there is none."""

    @abc.abstractmethod
    async def download(self, key: str, path: Path) -> None:
        """Copy the object into the local file ``path``; `ObjectMissing` if there is none."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""

    def local_path(self, key: str) -> Path | None:
        """The file holding the object, for stores on the local disk (else None)."""
        return None

    async def presigned_get_url(
        self, key: str, *, expires_seconds: int, content_type: str | None = None, filename: str | None = None
    ) -> str | None:
        """A short-lived URL a browser may GET directly, or None if the store cannot sign."""
        return None
