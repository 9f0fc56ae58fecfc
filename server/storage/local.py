"""A folder on the local disk: ``file:///abs/path``. Each write goes to a temporary
file in the same folder and is renamed into place (`os.replace`), so a reader never
sees half an object and a crash leaves no torn file."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from server.storage.base import ObjectMissing, Storage, check_key


class FileStorage(Storage):
    scheme = "file"

    def __init__(self, root: Path) -> None:
        if not root.is_absolute():
            raise ValueError(f"file storage needs an absolute path, got {root}")
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def _write(self, key: str, fill: object) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(fill, bytes):
                    out.write(fill)
                else:
                    assert isinstance(fill, Path)
                    with fill.open("rb") as src:
                        shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _move(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with path.open("rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.replace(path, target)
        except OSError:  # another file system: copy instead
            self._write(key, path)

    async def put_file(self, key: str, path: Path, content_type: str, *, move: bool = False) -> None:
        await asyncio.to_thread(self._move if move else self._write, key, path)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, key, data)

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def get_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, key)

    def _copy_out(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def download(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._copy_out, key, path)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)
