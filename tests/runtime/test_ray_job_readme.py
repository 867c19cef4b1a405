"""The README's "Jobs on a Ray cluster" lines, read from the README and run as a newcomer types
them: a fresh home (no Ray token yet), `ray start --head`, the train and segment jobs with
`ray job submit`. Both jobs succeed; their state (the default store's data, MLflow) is in
~/.streamer/state, not in the job's unpacked working dir; no `weed` the jobs started is left.

Three changes to the lines, each asserted to apply: `ray start` also gets free ports and its own
temp dir, and the dashboard address follows (other Ray instances may run on this machine), and
`ray stop` is not run (it stops every Ray process of the user); the test stops its cluster by PID."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers.segment import ROOT

from pipelines.data import storage
from pipelines.runtime.local_s3 import _free_ports, _is_weed, start_server, stop_server

BIN = Path(sys.executable).parent
MARK = "<!-- run by tests/runtime/test_ray_job_readme.py -->"


def readme_lines() -> list[str]:
    """The bash block right after MARK in the README."""
    text = (ROOT / "README.md").read_text()
    block = re.search(re.escape(MARK) + r"\n```bash\n(.*?)\n```", text, re.S)
    assert block, f"README has no bash block after {MARK}"
    return block.group(1).splitlines()


def adapted(lines: list[str], port: int, dashboard_port: int, temp_dir: Path) -> str:
    """The lines as one bash script, with the three changes of the module docstring."""
    assert lines[-1] == "ray stop" and sum(line.startswith("ray start --head") for line in lines) == 1
    assert all("127.0.0.1:8265" in line for line in lines if line.startswith("ray job submit"))
    script = []
    for line in lines[:-1]:
        if line.startswith("ray start --head"):
            line += f" --port={port} --dashboard-port={dashboard_port} --temp-dir={temp_dir}"
        script.append(line.replace("127.0.0.1:8265", f"127.0.0.1:{dashboard_port}"))
    return "set -euo pipefail\n" + "\n".join(script) + "\n"


def _processes() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                found[int(entry.name)] = (parent, (entry / "cmdline").read_bytes())
            except (OSError, IndexError, ValueError):
                continue
    return found


def stop_cluster(temp_dir: Path, grace_s: float = 15) -> None:
    """Ray's processes of this cluster (their command lines name its temp dir) and all their
    descendants (workers, job drivers): SIGTERM, then SIGKILL what is left."""
    table = _processes()
    mine = {pid for pid, (_, cmd) in table.items() if str(temp_dir).encode() in cmd and pid != os.getpid()}
    while True:
        more = {pid for pid, (parent, _) in table.items() if parent in mine} - mine
        if not more:
            break
        mine |= more
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}/cmdline").exists() and
                                                  Path(f"/proc/{pid}/cmdline").read_bytes() for pid in mine):
            time.sleep(0.5)


def _summaries(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and line.endswith("}")]


@pytest.mark.slow
@pytest.mark.multinode
def test_readme_cluster_lines_train_and_segment_as_jobs(tmp_path):
    home = tmp_path / "home"  # a newcomer's: no ~/.ray/auth_token yet; the state folder lands here
    home.mkdir()
    temp = Path(tempfile.mkdtemp(prefix="rayjob-", dir="/tmp"))  # short: Ray's sockets live there
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAY_", "AWS_", "MLFLOW_", "STREAMER_"))}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    port, dashboard_port = _free_ports(2)
    script = adapted(readme_lines(), port, dashboard_port, temp)
    try:
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=1200)
    finally:
        stop_cluster(temp)
        shutil.rmtree(temp, ignore_errors=True)
    output = done.stdout + done.stderr
    (tmp_path / "jobs.log").write_text(output)  # all of it, for a failure's diagnosis
    assert done.returncode == 0, f"{output[-6000:]}\n(all of it: {tmp_path / 'jobs.log'})"
    assert len(re.findall(r"Job 'raysubmit_\w+' succeeded", output)) == 2, output[-6000:]
    assert (home / ".ray" / "auth_token").exists()

    state = home / ".streamer" / "state"
    trained, segmented = _summaries(output)[-2:]
    assert trained["videos"] > 0 and trained["failed_videos"] == 0
    assert trained["checkpoint"].startswith("s3://streamer-sample/checkpoints/")
    assert segmented["videos_ok"] == trained["videos"] and segmented["videos_failed"] == 0
    assert (state / "mlflow" / "mlflow.db").exists()

    stores = [int(pid) for pid in re.findall(r"SeaweedFS S3 at \S+ \(pid (\d+), data in (?:\S+)", output)]
    assert len(stores) == 2, output[-6000:]  # each job started the store, on the same data
    assert re.findall(r"data in (\S+?)[;)]", output) == [str(state / "s3")] * 2
    left = [pid for pid in stores if _is_weed(pid)]
    assert not left, f"weed processes outlived their jobs: {left}"
    assert not [pid for pid, (_, cmd) in _processes().items() if b"weed" in cmd and str(state).encode() in cmd]

    server = start_server(state / "s3")  # the model is in the state folder, after the jobs and Ray
    try:
        assert storage.read_bytes(trained["checkpoint"], server.settings())[:2] == b"PK"  # a torch zip
    finally:
        stop_server(server)
