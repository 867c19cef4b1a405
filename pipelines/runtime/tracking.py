"""MLflow at one place: where runs are stored, and one run per job, opened from the driver.

Store: `--tracking-uri`, else MLFLOW_TRACKING_URI, else a sqlite file in the local state folder
(MLflow 3 refuses the old ./mlruns file store), with artifacts in a folder beside it."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "STREAMER_STATE_DIR"
JOB_STATE_DIR = "~/.streamer/state"  # the default under `ray job submit --working-dir` (README names it)


def in_job_working_dir() -> bool:
    """True in a process whose cwd is a job's unpacked `--working-dir`: Ray puts it under its
    session's `runtime_resources`, which Ray deletes, so state kept there would be lost."""
    return "runtime_resources" in Path.cwd().parts


def state_dir() -> Path:
    """The local state folder (S3 store data, MLflow db, default checkpoints and outputs):
    $STREAMER_STATE_DIR, else ~/.streamer/state in a Ray job's working dir, else ./.state."""
    default = JOB_STATE_DIR if in_job_working_dir() else ".state"
    return Path(os.environ.get(STATE_DIR_ENV) or default).expanduser().resolve()


def tracking_uri(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    folder = state_dir() / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model": {"embed_dim": 8}} -> {"model.embed_dim": 8}, for MLflow params."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def experiment_id(mlflow, name: str, uri: str) -> str:
    """The experiment's id, created if new (on sqlite, with its artifacts in a folder beside the db)."""
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///"):]).parent / "artifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


@contextmanager
def _first_use_lock(uri: str) -> Iterator[None]:
    """Jobs that start at once on one sqlite store take turns to set it up: MLflow creates and
    migrates the tables of a new db on first use and each would create the experiment, so two at
    once fail ("duplicate column", "already exists"). A lock file beside the db; no-op elsewhere."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    path = Path(uri[len("sqlite:///"):])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


@contextmanager
def tracked_run(experiment: str, run_name: str, uri: str | None = None,
                params: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> Iterator[Any]:
    """Opens one MLflow run (the caller logs metrics and artifacts through `mlflow`); yields the run."""
    import mlflow

    resolved = tracking_uri(uri)
    mlflow.set_tracking_uri(resolved)
    with _first_use_lock(resolved):
        experiment = experiment_id(mlflow, experiment, resolved)
    with mlflow.start_run(experiment_id=experiment, run_name=run_name, tags=tags or {}) as run:
        if params:
            mlflow.log_params({k: str(v)[:500] for k, v in flatten(params).items()})
        yield run
