"""How long the S3 clients retry a store that does not answer (`STREAMER_S3_RETRY_S`), and what
its errors amount to for a job (`storage.store_error`): the real clients against a closed port."""
from __future__ import annotations

import errno
import pickle
import time

import pytest

from pipelines.data import storage
from pipelines.data.picklable_s3 import shipped_filesystem
from pipelines.data.storage import S3Settings, StoreFull, StoreReadOnly, StoreUnavailable
from pipelines.runtime.local_s3 import _free_ports


def _nobody(retry_s: float) -> S3Settings:
    (port,) = _free_ports(1)
    return S3Settings(endpoint_url=f"http://127.0.0.1:{port}", access_key="a", secret_key="b",
                      connect_timeout_s=1, retry_s=retry_s)


def test_reads_retry_for_the_budget_then_the_job_gets_one_store_error():
    """pyarrow (every read and write of a run: decoding, commits, Ray Train's checkpoints) waits
    50 ms, then doubles: a budget of 3 s is at least 3 s of trying."""
    for retry_s, at_least, at_most in ((0, 0, 1.5), (3, 3, 15)):
        settings = _nobody(retry_s)
        started = time.monotonic()
        with pytest.raises(OSError) as raised:
            storage.read_bytes("s3://b/k", settings)
        assert at_least <= time.monotonic() - started <= at_most, retry_s
        assert storage.unavailable(raised.value)
        error = storage.store_error(raised.value, "s3://b/out", settings)
        assert isinstance(error, StoreUnavailable) and "run the job again" in str(error)
        assert f"{retry_s:g} s" in str(error) and storage.RETRY_ENV in str(error)


def test_boto3_errors_of_a_store_that_is_down():
    """boto3 (listing the corpus) waits at random, so its budget holds on average only."""
    with pytest.raises(Exception) as raised:
        storage.s3_client(_nobody(0)).get_object(Bucket="b", Key="k")
    assert isinstance(storage.store_error(raised.value, "s3://b/out"), StoreUnavailable)


def test_what_errors_amount_to():
    out = "s3://b/out"
    try:
        raise RuntimeError("remote task failed") from OSError(errno.ENOSPC, "No space left on device")
    except RuntimeError as wrapped:
        assert isinstance(storage.store_error(wrapped, out), StoreFull)
    denied = OSError("When initiating multiple part upload: AWS Error ACCESS_DENIED during CreateMultipartUpload")
    assert isinstance(storage.store_error(denied, out), StoreReadOnly) and out in str(storage.store_error(denied, out))
    for not_the_store in (FileNotFoundError("s3://b/k"), OSError("Invalid: not a Parquet file"), ValueError("x")):
        assert storage.store_error(not_the_store, out) is None and not storage.unavailable(not_the_store)
    with pytest.raises(FileNotFoundError), storage.store_errors(out):  # other errors pass unchanged
        raise FileNotFoundError("s3://b/k")


def test_retry_budget_travels_in_the_environment():
    assert S3Settings.from_env(env={storage.RETRY_ENV: "5"}).retry_s == 5.0
    assert S3Settings(retry_s=5).env()[storage.RETRY_ENV] == "5"
    assert storage.RETRY_ENV not in S3Settings().env()  # the default stays implicit


def test_the_checkpoint_filesystem_keeps_its_budget_in_another_process(tmp_path):
    """Ray Train pickles its storage filesystem to its controller and workers; pyarrow's own S3
    filesystem loses its retry strategy on the way (there it gives up within a second), the
    shipped one is built again with the budget."""
    settings = _nobody(3)
    fs, path = shipped_filesystem("s3://b/k", settings)
    shipped = pickle.loads(pickle.dumps(fs))
    started = time.monotonic()
    with pytest.raises(OSError):
        shipped.get_file_info(path)
    assert time.monotonic() - started >= 3
    assert shipped_filesystem(str(tmp_path), settings)[0].type_name == "local"  # a folder stays local
