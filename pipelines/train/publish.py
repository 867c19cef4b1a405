"""Where a training run leaves its results, and how other jobs find the latest model.

  <checkpoint_dir>/last-run.json          {"run_name"}: the run started last (what --resume last continues)
  <checkpoint_dir>/latest.json            {"run_name", "model", "mlflow_run_id", "finished_at"}: last finished run
  <checkpoint_dir>/<run_name>/run.json    the run's config and manifest
  <checkpoint_dir>/<run_name>/model.pt    its final weights (StreamerModel.from_checkpoint)
  <checkpoint_dir>/<run_name>/record.json its final record: every video done, by which rank
  <checkpoint_dir>/<run_name>/checkpoint_*/  Ray Train's checkpoints (pipelines.train.record)
"""
from __future__ import annotations

import json
import posixpath
import shutil
import time
from dataclasses import dataclass
from typing import Any

from pipelines.data import storage
from pipelines.data.storage import S3Settings
from pipelines.train.record import MODEL_FILE, RECORD_FILE, TrainRecord

RUN_FILE = "run.json"
LAST_RUN_FILE = "last-run.json"
LATEST_FILE = "latest.json"


@dataclass(frozen=True)
class Published:
    model_uri: str
    record: TrainRecord


def _output(uri: str, s3: S3Settings | None):
    fs, path = storage.filesystem(uri, s3)
    if not storage.is_s3(uri):
        fs.create_dir(posixpath.dirname(path), recursive=True)
    return fs.open_output_stream(path)


def write_json(uri: str, values: dict[str, Any], s3: S3Settings | None = None) -> None:
    with _output(uri, s3) as f:
        f.write(json.dumps(values, indent=1).encode())


def read_json(uri: str, s3: S3Settings | None = None) -> dict[str, Any]:
    return json.loads(storage.read_bytes(uri, s3))


def publish(checkpoint, run_dir: str, checkpoint_dir: str, mlflow_run_id: str,
            s3: S3Settings | None = None) -> Published:
    """Copies the final checkpoint's model.pt and record to the run folder and points
    latest.json at them.
    `checkpoint` is the ray.train.Checkpoint the run ended with."""
    if checkpoint is None:
        raise RuntimeError(f"the run in {run_dir} reported no checkpoint")
    fs, folder = checkpoint.filesystem, checkpoint.path
    with fs.open_input_stream(f"{folder}/{RECORD_FILE}") as f:
        record = TrainRecord.from_json(f.read().decode())
    model_uri = storage.join(run_dir, MODEL_FILE)
    with fs.open_input_stream(f"{folder}/{MODEL_FILE}") as src, _output(model_uri, s3) as out:
        shutil.copyfileobj(src, out, 8 << 20)
    with _output(storage.join(run_dir, RECORD_FILE), s3) as out:
        out.write(record.to_json().encode())
    write_json(storage.join(checkpoint_dir, LATEST_FILE),
               {"run_name": record.run_name, "model": model_uri, "mlflow_run_id": mlflow_run_id,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, s3)
    return Published(model_uri, record)
