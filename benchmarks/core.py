"""Frames per second and peak memory of the model alone (no Ray, no decoding).

    python benchmarks/core.py --preset paper --mode train|infer [--frames N] [--videos V]
                              [--device cpu|cuda] [--plain] [--breakdown] [--set section.key=value ...]
    python benchmarks/core.py --preset tiny-default --cost [--runs R] [--frames N] [--videos V]

Streams are synthetic frames held in memory, so the number is the model's own speed. The
last stdout line is one JSON object; with --breakdown it also holds the share of the measured
time spent in each of PARTS (timed within the same run: steadier than comparing runs on a
shared machine). --cost measures what the additions (ADDITIONS_OFF) cost at inference: the
preset and the preset without them, alternating in one process, R runs each; it prints each one's
median and best frames/s. Why in one process: on a machine shared with other work, separate
processes of the same code differed by up to a third, and a run that is slowed slows both sides
of the pair it falls in alike."""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config
from streamer_core.placement import Placement


def synthetic_stream(frames: int, size: int, seed: int) -> np.ndarray:
    """Slowly drifting coloured noise with a cut every 20 frames: uint8 [T, H, W, 3]."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (frames // 20 + 1, size, size, 3)).astype(np.float32)
    noise = rng.normal(0, 8, (frames, size, size, 3)).astype(np.float32)
    return np.clip(base[np.arange(frames) // 20] + noise, 0, 255).astype(np.uint8)


PARTS = {  # the work around the networks that the recommended presets add (not in the paper)
    "histograms": (Streamer, "_measure"),  # colour and edge histograms for refinement
    "transitions": (Streamer, "_transitions"),  # the hard-cut and gradual-transition rules
    "refinement": (Placement, "placed"),  # the end-of-video pass and the events embedded again
}


ADDITIONS_OFF = ["model.refine=0", "model.gradual_span=0", "model.cut_at=sample",  # the recommended presets'
                 "model.refine_colour=0", "model.refine_edges=0"]  # additions at inference, switched off


def timed_parts() -> dict[str, float]:
    """Puts a timer around each of PARTS; returns the seconds each has taken so far, by name."""
    spent = dict.fromkeys(PARTS, 0.0)

    def timed(name: str, inner: Callable) -> Callable:
        def timer(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return timer

    for name, (owner, attribute) in PARTS.items():
        setattr(owner, attribute, timed(name, getattr(owner, attribute)))
    return spent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def inference(model: StreamerModel) -> Streamer:
    """A streamer for inference, warmed up on a few frames (its first step allocates)."""
    model.eval()
    streamer = Streamer(model)
    infer(streamer, [synthetic_stream(8, model.cfg.image_size, 99)])
    return streamer


def infer(streamer: Streamer, streams: list[np.ndarray]) -> None:
    with torch.no_grad():
        list(streamer.run([StreamSource(f"v{i}", [f]) for i, f in enumerate(streams)]))


def cost(args: argparse.Namespace) -> dict:
    """The preset against itself without ADDITIONS_OFF, alternating run by run in this process."""
    streamers = {}
    for name, overrides in (("shipped", args.overrides), ("additions_off", args.overrides + ADDITIONS_OFF)):
        cfg = load_config(args.preset, overrides=overrides)
        torch.manual_seed(cfg.learn.seed)
        streamers[name] = inference(StreamerModel(cfg.model).to(args.device))
    videos = args.videos or 4
    streams = [synthetic_stream(args.frames, streamers["shipped"].model.cfg.image_size, seed) for seed in range(videos)]
    speeds: dict[str, list[float]] = {name: [] for name in streamers}
    for _ in range(args.runs):
        for name, streamer in streamers.items():
            start = time.perf_counter()
            infer(streamer, streams)
            speeds[name].append(args.frames * videos / (time.perf_counter() - start))
    median = {name: statistics.median(v) for name, v in speeds.items()}
    best = {name: max(v) for name, v in speeds.items()}
    return {"preset": args.preset, "videos": videos, "frames": args.frames * videos, "runs": args.runs,
            "threads": torch.get_num_threads(),
            **{f"{name}_frames_per_s": {"median": round(median[name], 1), "best": round(best[name], 1)}
               for name in streamers},
            "cost_at_median": round(1 - median["shipped"] / median["additions_off"], 4),
            "cost_at_best": round(1 - best["shipped"] / best["additions_off"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--mode", choices=("train", "infer"), default="infer")
    parser.add_argument("--frames", type=int, default=60, help="frames per video")
    parser.add_argument("--videos", type=int, default=0,
                        help="videos (infer: batched together); default 1 train, 4 infer")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--plain", action="store_true", help="train with the plain path (re-encode every frame)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--breakdown", action="store_true", help="also time each of PARTS within the run")
    parser.add_argument("--cost", action="store_true", help="the additions' cost at inference (ADDITIONS_OFF)")
    parser.add_argument("--runs", type=int, default=30, help="--cost: runs of each side")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cost:
        if args.breakdown or args.mode == "train":
            parser.error("--cost times inference as a whole: leave out --breakdown and --mode train")
        print(json.dumps(cost(args)))
        return
    cfg = load_config(args.preset, overrides=args.overrides + (["learn.fast_path=false"] if args.plain else []))
    videos = args.videos or (1 if args.mode == "train" else 4)
    spent = timed_parts() if args.breakdown else {}
    torch.manual_seed(cfg.learn.seed)
    model = StreamerModel(cfg.model).to(args.device)
    streams = [synthetic_stream(args.frames, cfg.model.image_size, seed) for seed in range(videos)]
    start = 0.0
    if args.mode == "train":
        streamer = Streamer(model, Learner(model, cfg.learn))
        # warm-up through one optimiser step: its first call allocates Adam's state (~1.5 s at paper
        # size), a cost a training job pays once, not per frame
        streamer.learn(StreamSource("warm", [synthetic_stream(cfg.learn.optimize_every + 8, cfg.model.image_size, 99)]))
        spent.update(dict.fromkeys(spent, 0.0))  # the warm-up is not measured
        start = time.perf_counter()
        for i, frames in enumerate(streams):
            streamer.learn(StreamSource(f"v{i}", [frames]))
    else:
        streamer = inference(model)
        spent.update(dict.fromkeys(spent, 0.0))  # the warm-up is not measured
        start = time.perf_counter()
        infer(streamer, streams)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    total = args.frames * videos
    print(json.dumps({"preset": args.preset, "mode": args.mode, "device": args.device, "fast_path": not args.plain,
                      "videos": videos, "frames": total, "seconds": round(seconds, 3),
                      "frames_per_s": round(total / seconds, 2), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "threads": torch.get_num_threads(),
                      **({"shares": {name: round(t / seconds, 4) for name, t in spent.items()}} if spent else {})}))


if __name__ == "__main__":
    main()
