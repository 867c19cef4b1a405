"""What the segment job asks Ray for: how many actors, and CPUs and GPUs per actor.

A request the cluster can never grant (more CPUs or GPUs per actor than it has) would leave the
job waiting forever, so it is a `UserError` before any work. With no actor count given, as many
actors as the free resources hold, one CPU kept for Ray Data's own read and write tasks (actors
holding every CPU starve them), never more actors than batches. GPUs: one per actor when the
cluster has any and none was asked (a share of them when an actor count is given and exceeds them).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.cli import UserError
from pipelines.runtime.cluster import GRANTABLE_GPUS, grantable_gpus, lacking

RESERVED_CPUS = 1.0  # for Ray Data's read and write tasks


@dataclass(frozen=True)
class ActorPlan:
    actors: int
    cpus: float  # per actor: its decode-ahead threads and torch's
    gpus: float  # per actor; 0: the model runs on the CPU

    @property
    def device(self) -> str:
        return "cuda" if self.gpus else "cpu"


def check_request(cpus: float, gpus: float | None) -> None:
    """The per-actor values on their own (no cluster needed): what Ray would refuse or misread."""
    if not cpus > 0:
        raise UserError(f"--cpus-per-actor must be > 0, got {cpus:g}")
    if gpus is not None and not grantable_gpus(gpus):
        raise UserError(f"--gpus-per-actor must be {GRANTABLE_GPUS}, got {gpus:g}")


def plan_actors(total: Mapping[str, float], free: Mapping[str, float], batches: int, cpus: float = 1.0,
                gpus: float | None = None, actors: int | None = None) -> ActorPlan:
    """`total` and `free`: `ray.cluster_resources()` and `ray.available_resources()`; `gpus` None:
    the default above; `actors` None: from the free resources."""
    check_request(cpus, gpus)
    have_gpus = float(total.get("GPU", 0))
    if gpus is None:
        gpus = min(1.0, have_gpus / actors) if actors and have_gpus else min(1.0, have_gpus)
    each = {"GPU": gpus, "CPU": cpus}
    if short := lacking(total, each):
        flag = "--gpus-per-actor" if short == "GPU" else "--cpus-per-actor"
        raise UserError(f"{flag} {each[short]:g}: the cluster has {total.get(short, 0):g} {short}s")
    if actors is None:
        fit = (float(free.get("CPU", 0)) - RESERVED_CPUS) // cpus
        if gpus:
            fit = min(fit, float(free.get("GPU", 0)) // gpus)
        actors = max(1, int(fit))
    return ActorPlan(max(1, min(actors, batches)), cpus, gpus)
