"""Joining a Ray cluster from a job: the one named by RAY_ADDRESS (as `ray job submit` sets it),
else a fresh local one that this process owns and stops on exit."""
from __future__ import annotations

import os


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
