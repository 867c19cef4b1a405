"""Shared fixtures: a real SeaweedFS S3 server for the session, a fresh bucket per test, and a
local Ray cluster per test module."""
import uuid

import pytest

from pipelines.data import storage
from pipelines.runtime.local_s3 import _free_ports, local_s3


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


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of this test module, stopped after it; yields its GCS address (the
    `RAY_ADDRESS` of a job run as a subprocess).

    `address="local"` keeps it off any other cluster on the machine, and its state API is its own
    dashboard: Ray Train's placement-group cleaner otherwise auto-detects the newest cluster on the
    machine, which may be another test's, finds no controller there and tears down this run's
    workers. 4 logical CPUs, as in `pipelines.runtime.cluster.init_ray`."""
    import ray

    (port,) = _free_ports(1)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_API_SERVER_ADDRESS", f"http://127.0.0.1:{port}")
        ray.init(address="local", num_cpus=4, include_dashboard=True, dashboard_port=port)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()
