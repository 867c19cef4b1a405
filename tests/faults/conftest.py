"""What the fault tests share: a SeaweedFS store of their own that a test may kill and restart
(the session's server stays up for every other test), and segment jobs run as `jobs/segment.py`
subprocesses on the module's Ray cluster, as `ray job submit` would run them."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from helpers.segment import ROOT

from pipelines.data import storage
from pipelines.results import tables
from pipelines.runtime import local_s3


class Store:
    """A store the test owns: `restart()` kills it as a crash would and brings it back on the same
    endpoint and data; `down()` / `up()` split that in two."""

    def __init__(self, state_dir: Path):
        state_dir.mkdir(parents=True, exist_ok=True)
        local_s3._credentials(state_dir)  # the admin's keys, then a key that may only read and list
        identities = json.loads((state_dir / "identities.json").read_text())
        self.reader = ("reader" + uuid.uuid4().hex[:8], uuid.uuid4().hex)
        identities["identities"].append({"name": "reader", "actions": ["Read", "List"], "credentials": [
            {"accessKey": self.reader[0], "secretKey": self.reader[1]}]})
        (state_dir / "identities.json").write_text(json.dumps(identities))
        self.server = local_s3.start_server(state_dir)

    def reader_env(self) -> dict[str, str]:
        return {**self.env(), "AWS_ACCESS_KEY_ID": self.reader[0], "AWS_SECRET_ACCESS_KEY": self.reader[1]}

    def settings(self) -> storage.S3Settings:
        return self.server.settings()

    def env(self) -> dict[str, str]:
        return self.server.env()

    def restart(self) -> None:
        self.server = local_s3.restart_server(self.server)

    def down(self) -> None:
        local_s3.stop_server(self.server, grace_s=0)

    def up(self) -> None:
        self.server = local_s3.start_server(self.server.state_dir, ports=self.server.ports)


@pytest.fixture(scope="module")
def store():
    state = Path(tempfile.mkdtemp(prefix="fault-s3-"))
    owned = Store(state)
    try:
        yield owned
    finally:
        local_s3.stop_server(owned.server)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def bucket(store) -> str:
    name = f"fault-{uuid.uuid4().hex[:12]}"
    storage.s3_client(store.settings()).create_bucket(Bucket=name)
    return f"s3://{name}"


class Jobs:
    """Starts `jobs/segment.py` runs against one store and Ray cluster, each with its own log."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder, self.started = env, folder, 0

    def start(self, args: list[str], **env: str) -> subprocess.Popen:
        self.started += 1
        log = open(self.folder / f"job{self.started}.log", "w+")
        job = subprocess.Popen([sys.executable, str(ROOT / "jobs" / "segment.py"), *args], cwd=ROOT,
                               env={**self.env, **env}, stdout=subprocess.PIPE, stderr=log, text=True,
                               start_new_session=True)
        job.log = log
        return job

    @staticmethod
    def finish(job: subprocess.Popen, timeout_s: float = 300) -> tuple[int, dict | None, str]:
        """Exit status, the JSON summary (None when it failed) and the stderr of a job."""
        stdout, _ = job.communicate(timeout=timeout_s)
        job.log.seek(0)
        lines = stdout.strip().splitlines()
        return job.returncode, json.loads(lines[-1]) if job.returncode == 0 else None, job.log.read()

    @staticmethod
    def wait_for_commits(output: str, settings, job: subprocess.Popen, count: int = 1,
                         timeout_s: float = 300) -> set:
        """Waits until `count` commits are in `output` while `job` runs; returns their ids."""
        deadline = time.monotonic() + timeout_s
        while len(found := tables.committed_ids(output, settings)) < count:
            if job.poll() is not None:
                job.log.seek(0)
                raise AssertionError(f"job ended ({job.returncode}) first:\n{job.log.read()[-3000:]}")
            assert time.monotonic() < deadline, "no commit in time"
            time.sleep(0.05)
        return found


@pytest.fixture
def jobs(ray_cluster, store, tmp_path) -> Jobs:
    return Jobs({**os.environ, **store.env(), "RAY_ADDRESS": ray_cluster}, tmp_path)
