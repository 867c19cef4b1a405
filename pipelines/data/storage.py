"""Storage access: the one module that knows S3 endpoints and credentials.

Every other part names data by URI (``s3://bucket/key`` or a local path) and asks this module
for a filesystem, a client or the bytes. Settings come from the standard AWS variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_ENDPOINT_URL``
or ``AWS_ENDPOINT_URL_S3``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``) plus an explicit endpoint
override. Secrets are excluded from ``repr`` so that settings can be logged safely.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import boto3
import pyarrow.fs as pafs
from botocore.config import Config as BotoConfig

S3_SCHEME = "s3://"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Settings:
    """Where S3 is and who we are there; secrets never appear in repr/str."""

    endpoint_url: str | None = None  # None: AWS itself
    region: str = DEFAULT_REGION
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 5.0
    max_attempts: int = 3

    @classmethod
    def from_env(
        cls, endpoint_url: str | None = None, env: Mapping[str, str] | None = None
    ) -> S3Settings:
        """Standard AWS variables; ``endpoint_url`` overrides the variable when given."""
        env = os.environ if env is None else env
        endpoint = endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return cls(
            endpoint_url=endpoint or None,
            region=region,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def with_endpoint(self, endpoint_url: str | None) -> S3Settings:
        return replace(self, endpoint_url=endpoint_url)

    def env(self) -> dict[str, str]:
        """The same settings as AWS variables, for subprocesses and Ray runtime envs."""
        pairs = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }
        return {k: v for k, v in pairs.items() if v}


def _settings(settings: S3Settings | None) -> S3Settings:
    return settings if settings is not None else S3Settings.from_env()


def is_s3(uri: str) -> bool:
    return str(uri).startswith(S3_SCHEME)


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    if not is_s3(uri):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len(S3_SCHEME):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in URI: {uri}")
    return bucket, key


def local_path(uri: str) -> str:
    """Absolute local path of a plain path or a ``file://`` URI."""
    text = str(uri)
    if text.startswith("file://"):
        text = urlparse(text).path
    return os.path.abspath(os.path.expanduser(text))


def join(uri: str, *parts: str) -> str:
    """Join path parts onto a URI, with ``/`` for S3 and the OS separator for local paths."""
    if not is_s3(uri):
        return os.path.join(str(uri), *parts)
    pieces = [str(uri).rstrip("/")] + [p.strip("/") for p in parts if p.strip("/")]
    return "/".join(pieces)


@functools.lru_cache(maxsize=8)
def _s3_filesystem(settings: S3Settings) -> pafs.S3FileSystem:
    kwargs: dict = {"region": settings.region, "connect_timeout": settings.connect_timeout_s}
    if settings.endpoint_url:
        parsed = urlparse(settings.endpoint_url)
        kwargs["endpoint_override"] = parsed.netloc or parsed.path
        kwargs["scheme"] = parsed.scheme or "https"
    if settings.access_key:
        kwargs.update(access_key=settings.access_key, secret_key=settings.secret_key,
                      session_token=settings.session_token)
    return pafs.S3FileSystem(
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=settings.max_attempts),
        **kwargs,
    )


def filesystem(uri: str, settings: S3Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path inside it (``bucket/key`` for S3)."""
    if is_s3(uri):
        bucket, key = split_s3(uri)
        return _s3_filesystem(_settings(settings)), f"{bucket}/{key}".rstrip("/")
    return pafs.LocalFileSystem(), local_path(uri)


@functools.lru_cache(maxsize=8)
def _client(settings: S3Settings):
    config = BotoConfig(
        connect_timeout=settings.connect_timeout_s,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        aws_session_token=settings.session_token,
        config=config,
    )


def s3_client(settings: S3Settings | None = None):
    """A boto3 S3 client for these settings (cached; boto3 clients are thread-safe)."""
    return _client(_settings(settings))


def open_input(uri: str, settings: S3Settings | None = None) -> IO[bytes]:
    """A seekable binary file-like object; S3 reads are ranged requests."""
    fs, path = filesystem(uri, settings)
    return fs.open_input_file(path)


def read_bytes(uri: str, settings: S3Settings | None = None) -> bytes:
    with open_input(uri, settings) as f:
        return f.read()


def copy_to_file(uri: str, dest: str | os.PathLike, settings: S3Settings | None = None,
                 block_bytes: int = 8 << 20) -> int:
    """Stream an object into a local file in blocks (bounded memory); returns bytes copied."""
    with open_input(uri, settings) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, block_bytes)
        return out.tell()


def upload_dir(local_dir: str | os.PathLike, uri: str,
               settings: S3Settings | None = None) -> list[str]:
    """Copy every file below ``local_dir`` to ``uri`` (S3 prefix or folder); returns the URIs."""
    root = Path(local_dir)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    written = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        dest = join(uri, *rel.split("/"))
        if is_s3(dest):
            bucket, key = split_s3(dest)
            s3_client(settings).upload_file(str(path), bucket, key)
        else:
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        written.append(dest)
    return written
