"""A real two-node Ray cluster on this machine (`ray start` on 127.0.0.2 and 127.0.0.3, separate
temp dirs, token auth on): `ray job submit -- python jobs/train.py` runs to completion against
the SeaweedFS store, its workers on both nodes, and the run appears in MLflow."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mlflow
import pytest
from helpers.segment import ROOT
from helpers.train import SHORT, read_run_record

from pipelines.data import storage
from pipelines.runtime.local_s3 import _free_ports
from pipelines.sample.corpus import write_corpus

BIN = Path(sys.executable).parent


def _start_node(args: list[str], temp_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`ray start --block` in its own process group, so that the test stops exactly this node."""
    return subprocess.Popen([str(BIN / "ray"), "start", "--block", f"--temp-dir={temp_dir}", "--num-cpus=3",
                             f"--object-store-memory={300 * 2**20}", "--disable-usage-stats", *args],
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(node: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(node.pid, sig)
        except ProcessLookupError:
            return
        try:
            node.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for_nodes(dashboard: str, env: dict[str, str], nodes: list[subprocess.Popen], log: Path,
                    timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if nodes[-1].poll() is not None:
            raise AssertionError(f"ray start exited with {nodes[-1].returncode}: {log.read_text()[-2000:]}")
        done = subprocess.run([str(BIN / "ray"), "list", "nodes", "--address", dashboard, "--format", "json",
                               "--filter", "state=ALIVE"], env=env, capture_output=True, text=True)
        alive = json.loads(done.stdout) if done.returncode == 0 and done.stdout.startswith("[") else []
        if len(alive) >= len(nodes):
            return
        time.sleep(2)
    raise AssertionError(f"{len(nodes)} Ray nodes did not come up: {done.stderr[-2000:]}")


@pytest.fixture
def two_node_cluster(tmp_path, s3_server):
    """Head on 127.0.0.2, worker on 127.0.0.3; both carry the store's AWS variables, as a
    cluster configured with credentials would, and the venv's `python` on PATH. Their temp dirs
    are short paths (Ray's Unix sockets live there, at most 107 bytes)."""
    temp = Path(tempfile.mkdtemp(prefix="ray2n-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "AWS_"))}
    env.update(s3_server.env(), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    port, dashboard_port = _free_ports(2)
    head = _start_node(["--head", "--node-ip-address=127.0.0.2", f"--port={port}",
                        "--dashboard-host=127.0.0.2", f"--dashboard-port={dashboard_port}"],
                       temp / "head", env, tmp_path / "head.log")
    nodes = [head]
    try:
        dashboard = f"http://127.0.0.2:{dashboard_port}"
        _wait_for_nodes(dashboard, env, nodes, tmp_path / "head.log")
        nodes.append(_start_node([f"--address=127.0.0.2:{port}", "--node-ip-address=127.0.0.3"],
                                 temp / "worker", env, tmp_path / "worker.log"))
        _wait_for_nodes(dashboard, env, nodes, tmp_path / "worker.log")
        yield dashboard, env
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.multinode
def test_ray_job_submit_trains_across_two_nodes(two_node_cluster, upload_corpus, s3_bucket, s3_server, tmp_path):
    dashboard, env = two_node_cluster
    write_corpus(tmp_path / "corpus", SHORT)
    corpus = upload_corpus(tmp_path / "corpus")
    tracking = f"sqlite:///{tmp_path}/mlflow.db"
    done = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", dashboard, "--working-dir", str(ROOT), "--",
         "python", "jobs/train.py", "--input", corpus, "--checkpoint-dir", f"{s3_bucket}/ckpt",
         "--tracking-uri", tracking, "--workers", "2", "--set", "train.placement=SPREAD"],
        env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    summary = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])
    assert summary["videos"] == SHORT.videos and summary["failed_videos"] == 0
    record = read_run_record(storage.join(f"{s3_bucket}/ckpt", summary["run_name"]), s3_server.settings())
    assert sorted(Counter(v.video_id for v in record.videos).values()) == [1] * SHORT.videos
    assert len(set(record.nodes)) == 2  # one worker per node
    run = mlflow.MlflowClient(tracking).get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["checkpoint_uri"] == summary["checkpoint"]
