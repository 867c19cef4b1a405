"""Joining a Ray cluster from a job: the one named by RAY_ADDRESS (as `ray job submit` sets it),
else a fresh local one that this process owns and stops on exit; and what Ray can grant a job's
actors or workers (a request it never can would wait forever, so the jobs refuse it first)."""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping

PROGRESS_ENV = "RAY_DATA_DISABLE_PROGRESS_BARS"  # read by Ray Data when it is imported
JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # set by Ray's job supervisor in a submitted job's driver only
GRANTABLE_GPUS = "a GPU count Ray grants (>= 0; above 1 a whole number: Ray shares single GPUs only)"


def in_ray_job() -> bool:
    """True in the driver of a `ray job submit` job: what it starts must end when the job does."""
    return JOB_ENV in os.environ


def show_progress(show: bool) -> None:
    """Ray Data's progress bars in this driver: off unless asked for (`-v`), since they redraw
    dozens of lines per batch over the operator's log lines in a terminal and in cron mails."""
    os.environ[PROGRESS_ENV] = "0" if show else "1"
    if "ray.data" in sys.modules:  # imported already: its defaults were read; set the live context
        from ray.data import DataContext

        DataContext.get_current().enable_progress_bars = show


def init_ray(num_cpus: int | None = None, **kwargs) -> bool:
    """Connects or starts Ray; True when this call started a local cluster.

    A local cluster gets at least 4 logical CPUs: on a 2-core machine fewer deadlock Ray Data
    stages that wait on each other. `address="local"` keeps us off clusters other users started.
    """
    import ray

    if ray.is_initialized():
        return False
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, **kwargs)
        return False
    ray.init(address="local", num_cpus=num_cpus or max(4, os.cpu_count() or 1), **kwargs)
    return True


def grantable_gpus(gpus: float) -> bool:
    """Whether Ray can grant `gpus` to one actor or worker (`GRANTABLE_GPUS` says it in words)."""
    return gpus >= 0 and (gpus <= 1 or gpus == int(gpus))


def lacking(total: Mapping[str, float], each: Mapping[str, float], units: int = 1) -> str | None:
    """The first resource of `each` (e.g. "CPU": 2) that `units` of them need at once beyond the
    cluster's `total` (`ray.cluster_resources()`), else None."""
    return next((key for key, value in each.items() if value * units > total.get(key, 0)), None)
