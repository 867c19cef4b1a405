"""Shared fixtures: a real SeaweedFS S3 server for the session and a fresh bucket per test."""
import uuid

import pytest

from pipelines.data import storage
from pipelines.runtime.local_s3 import local_s3


@pytest.fixture(scope="session")
def s3_server():
    """A real SeaweedFS S3 server for the session: ``.endpoint_url``, ``.settings()``, ``.env()``."""
    with local_s3() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh, empty bucket for one test, as ``s3://name``; emptied and removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client = storage.s3_client(s3_server.settings())
    client.create_bucket(Bucket=name)
    yield f"s3://{name}"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys})
    client.delete_bucket(Bucket=name)


@pytest.fixture
def upload_corpus(s3_server, s3_bucket):
    """`upload_corpus(folder)` copies a local corpus to `<fresh bucket>/footage`; returns that prefix."""
    def upload(folder) -> str:
        prefix = storage.join(s3_bucket, "footage")
        storage.upload_dir(folder, prefix, s3_server.settings())
        return prefix
    return upload
