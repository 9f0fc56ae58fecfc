"""An S3-compatible bucket (AWS S3, MinIO, Aliyun OSS) through boto3.

URL: ``s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME&addressing=path|virtual``.
Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` in the environment, a profile, an instance role), or
from ``s3://KEY:SECRET@BUCKET`` when nothing else is possible. boto3 signs every
request (SigV4); its calls block, so each runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.storage.base import ObjectMissing, Storage, StorageError, check_key


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def _failed(exc: ClientError | BotoCoreError, what: str, missing_key: str | None = None) -> StorageError:
    """The error to raise for a failed boto3 call: `ObjectMissing(missing_key)` for
    a not-found when a ``missing_key`` is given, else "S3 {what} failed"."""
    if missing_key is not None and isinstance(exc, ClientError) and _missing(exc):
        return ObjectMissing(missing_key)
    return StorageError(f"S3 {what} failed: {exc}")


class S3Storage(Storage):
    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        addressing: str = "auto",
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        if len(bucket) < 3:
            raise ValueError("S3 bucket names have at least three characters")
        if addressing not in {"auto", "path", "virtual"}:
            raise ValueError("addressing must be path, virtual or auto")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        config = Config(
            s3={"addressing_style": addressing},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            # Newer boto3 adds CRC checksums to every upload by default; several
            # S3-compatible stores (Aliyun OSS, older MinIO) reject them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )
        self.client: Any = session.client("s3", endpoint_url=endpoint, config=config)

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "addressing"}
        if unknown:
            raise ValueError(f"unknown S3 URL parameter(s): {', '.join(sorted(unknown))}")
        if not parts.hostname:
            raise ValueError("S3 URL needs a bucket: s3://BUCKET?endpoint=…")
        return cls(
            parts.hostname,
            prefix=parts.path,
            endpoint=query.get("endpoint"),
            region=query.get("region"),
            addressing=query.get("addressing", "auto"),
            access_key=unquote(parts.username) if parts.username else None,
            secret_key=unquote(parts.password) if parts.password else None,
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _call(self, method: str, **kwargs: Any) -> Any:
        def run() -> Any:
            try:
                return getattr(self.client, method)(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise _failed(exc, method, missing_key=kwargs.get("Key", "")) from exc

        return await asyncio.to_thread(run)

    async def put_file(self, key: str, path: Path, content_type: str, *, move: bool = False) -> None:
        def run() -> None:
            try:
                with path.open("rb") as body:
                    self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, ContentType=content_type)
            except (ClientError, BotoCoreError) as exc:
                raise _failed(exc, "upload") from exc

        await asyncio.to_thread(run)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("put_object", Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    async def get_bytes(self, key: str) -> bytes:
        def run() -> bytes:
            try:
                obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
                return bytes(obj["Body"].read())
            except (ClientError, BotoCoreError) as exc:
                raise _failed(exc, "get", missing_key=key) from exc

        return await asyncio.to_thread(run)

    async def download(self, key: str, path: Path) -> None:
        await self._call("download_file", Bucket=self.bucket, Key=self._key(key), Filename=str(path))

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=self._key(key))
        except ObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=self._key(key))

    async def presigned_get_url(
        self, key: str, *, expires_seconds: int, content_type: str | None = None, filename: str | None = None
    ) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = f'inline; filename="{filename}"'
        url: str = await asyncio.to_thread(
            self.client.generate_presigned_url, "get_object", Params=params, ExpiresIn=expires_seconds
        )
        return url
