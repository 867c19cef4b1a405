"""README command 1's program on a fresh state folder: everything it starts, it stops."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import mlflow
import pytest
from helpers.segment import ROOT

from pipelines.runtime.local_s3 import load_state


@pytest.mark.slow
def test_demo_runs_end_to_end_and_stops_what_it_started(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ADDRESS", "MLFLOW_TRACKING_URI") and not k.startswith("AWS_")}
    env["STREAMER_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run([sys.executable, str(ROOT / "jobs" / "demo.py"), "--videos", "2", "--min-duration", "8",
                           "--max-duration", "10", "--set", "train.workers=1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["segment"]["videos_ok"] == 2 and report["segment"]["events"] > 0
    assert report["segment"]["model_version"].startswith(report["train"]["run_name"])
    assert "-- videos" in out and "mlflow ui --backend-store-uri sqlite:///" in out
    assert len(report["timelines"]) == 2 and all(os.path.getsize(p) > 0 for p in report["timelines"])
    index = report["report"]  # the report pages, their index printed last for people
    assert f"watch the events (open in a browser): {index}" in out and index.endswith("index.html")
    pages = [p for p in os.listdir(os.path.dirname(index)) if p.endswith(".mp4.html")]
    assert len(pages) == 2 and all(f'href="{p}"' in open(index).read() for p in pages)
    client = mlflow.MlflowClient(report["tracking_uri"])
    for experiment in ("streamer-train", "streamer-segment"):
        runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
        assert [r.info.status for r in runs] == ["FINISHED"]
    assert load_state(tmp_path / "state" / "s3") is None  # the store it started is stopped
