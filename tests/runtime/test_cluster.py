"""What Ray can grant, as both jobs check it before any work (plain Python, no cluster)."""
from __future__ import annotations

from pipelines.runtime.cluster import grantable_gpus, lacking


def test_gpu_counts_ray_grants():
    assert all(grantable_gpus(g) for g in (0, 0.25, 1, 2, 8.0))
    assert not any(grantable_gpus(g) for g in (-1, -0.5, 1.5, 2.25))


def test_the_first_resource_the_cluster_cannot_hold():
    total = {"CPU": 8.0, "GPU": 1.0}
    assert lacking(total, {"CPU": 8, "GPU": 1}) is None
    assert lacking(total, {"GPU": 0.5, "CPU": 2}, units=2) is None
    assert lacking(total, {"GPU": 0.5, "CPU": 2}, units=3) == "GPU"  # 1.5 GPUs at once
    assert lacking(total, {"CPU": 4, "GPU": 1}, units=3) == "CPU"  # the first that fails
    assert lacking({"CPU": 8.0}, {"GPU": 0.5}) == "GPU"  # a resource it has none of
    assert lacking({"CPU": 8.0}, {"GPU": 0}) is None
