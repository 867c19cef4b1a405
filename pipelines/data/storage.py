"""Storage access: the one module that knows S3 endpoints and credentials.

Every other part names data by URI (``s3://bucket/key`` or a local path) and asks this module
for a filesystem, a client or the bytes. Settings come from the standard AWS variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_ENDPOINT_URL``
or ``AWS_ENDPOINT_URL_S3``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``) plus an explicit endpoint
override. Secrets are excluded from ``repr`` so that settings can be logged safely.

A store that restarts (SeaweedFS takes 15-20 s, a cloud endpoint has its own outages) must not
fail a run: every request is retried with doubling waits for ``retry_s`` seconds
(``STREAMER_S3_RETRY_S``, default 60) by the clients themselves, so reads for decoding, Ray
Train's checkpoint uploads and our commits ride it out alike (pyarrow, which does all of a run's
I/O: at least that long; boto3, which lists corpora: that long on average, its waits are random).
Past that, `unavailable` tells such an error from a missing or broken object and `store_errors`
turns it into one `StoreUnavailable` line: the job stops rather than record footage as failed.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import boto3
import botocore.exceptions as boto_errors
import pyarrow.fs as pafs
from botocore.config import Config as BotoConfig

S3_SCHEME = "s3://"
DEFAULT_REGION = "us-east-1"
RETRY_ENV = "STREAMER_S3_RETRY_S"
DEFAULT_RETRY_S = 60.0  # a store restart takes 15-20 s; ride out about three back to back
# pyarrow (the AWS C++ SDK) reports a store that is down or restarting by these error names
_DOWN = re.compile(r"AWS Error (NETWORK_CONNECTION|INTERNAL_FAILURE|SERVICE_UNAVAILABLE|SLOW_DOWN|"
                   r"REQUEST_TIMEOUT)|curlCode: (6|7|28|52|55|56)\b")
_DENIED = re.compile(r"AWS Error ACCESS_DENIED|\bAccessDenied\b")
_DOWN_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "503", "500"}


class StoreError(OSError):
    """The store as a whole failed (down, refusing writes, full), not one object: the job stops
    with one line that says what to fix; what it committed stands and a re-run does the rest."""


class StoreUnavailable(StoreError, ConnectionError):
    """Down for longer than the retry budget; no video is recorded as failed for it."""


class StoreReadOnly(StoreError, PermissionError):
    """Writes refused (a read-only store or key)."""


class StoreFull(StoreError):
    """No space left."""


def _chain(exc: BaseException | None):
    """`exc` and the errors it wraps (`raise ... from`, a Ray task error's `cause`)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        cause = getattr(exc, "cause", None)
        exc = cause if isinstance(cause, BaseException) else exc.__cause__ or exc.__context__


def _down(exc: BaseException) -> bool:
    if isinstance(exc, StoreUnavailable | boto_errors.ConnectionError | boto_errors.HTTPClientError):
        return True
    if isinstance(exc, boto_errors.ClientError):
        return exc.response.get("Error", {}).get("Code") in _DOWN_CODES
    return isinstance(exc, OSError) and bool(_DOWN.search(str(exc)))


def unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps, says the store was down or restarting rather than that
    an object is missing, denied or broken: such an error must stop the job, not fail a video."""
    return any(_down(e) for e in _chain(exc))


def store_error(exc: BaseException, uri: str, settings: S3Settings | None = None,
                outcome: str | None = None) -> StoreError | None:
    """The `StoreError` that `exc` (or an error it wraps) amounts to for the output `uri`, else None.
    Its line says what failed, then `outcome`: what stands and what to do, by default as the
    segment and training jobs say it (other commands, such as compaction, say their own)."""
    chain = list(_chain(exc))
    for e in chain:
        if isinstance(e, StoreError):
            return type(e)(str(e))  # a fresh copy: the one line, without the remote traceback
    if any(_down(e) for e in chain):
        return StoreUnavailable(
            f"the store of {uri} did not answer for {_settings(settings).retry_s:g} s (see {RETRY_ENV}); "
            + (outcome or "nothing is recorded for the videos in flight: run the job again to do the rest"))
    if any(isinstance(e, PermissionError) or _DENIED.search(str(e)) for e in chain):
        return StoreReadOnly(f"the store refused writes to {uri} (access denied: a read-only store, or a key "
                             "that may not write); " + (outcome or "no partial commit is visible there"))
    if any(isinstance(e, OSError) and (e.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(e))
           for e in chain):
        return StoreFull(f"no space left to write {uri}; " + (
            outcome or "the batches committed before stand: free space and run the job again to do the rest"))
    return None


@contextmanager
def store_errors(uri: str, settings: S3Settings | None = None) -> Iterator[None]:
    """Failures of the store under `uri`, wherever they were raised (a Ray worker wraps them in
    its traceback), as the one `StoreError` that says what to do; other errors pass unchanged."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        error = store_error(exc, uri, settings)
        if error is None:
            raise
        raise error from None


def _attempts(retry_s: float, first_s: float, cap_s: float = float("inf")) -> int:
    """Attempts whose waits (first_s, doubling, each at most cap_s) add up to at least retry_s."""
    attempts, waited, wait = 1, 0.0, first_s
    while waited < retry_s:
        attempts, waited, wait = attempts + 1, waited + min(wait, cap_s), wait * 2
    return attempts


@dataclass(frozen=True)
class S3Settings:
    """Where S3 is and who we are there; secrets never appear in repr/str."""

    endpoint_url: str | None = None  # None: AWS itself
    region: str = DEFAULT_REGION
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 5.0
    retry_s: float = DEFAULT_RETRY_S  # how long a request is retried while the store is down

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
            retry_s=float(env.get(RETRY_ENV) or DEFAULT_RETRY_S),
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
            RETRY_ENV: None if self.retry_s == DEFAULT_RETRY_S else str(self.retry_s),
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
    # the SDK's default strategy waits 50 ms, then doubles, on connection errors and 5xx replies
    attempts = _attempts(settings.retry_s, first_s=0.05)
    return pafs.S3FileSystem(retry_strategy=pafs.AwsDefaultS3RetryStrategy(max_attempts=attempts), **kwargs)


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
        # standard mode: random waits of up to 1, 2, 4 ... 20 s, so the budget holds on average only
        # (boto3 lists corpora on the driver; every read and write of a run goes through pyarrow)
        retries={"max_attempts": _attempts(settings.retry_s, first_s=0.5, cap_s=10), "mode": "standard"},
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
