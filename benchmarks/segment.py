"""The segment job's speed against the model alone and against PySceneDetect, on the same files.

    python benchmarks/segment.py [--preset tiny] [--videos 6] [--min-duration 20] [--max-duration 40]
                                 [--batch-videos 4] [--actors 1] [--set section.key=value ...]

A sample corpus is written to a temp folder and segmented by the job on a local Ray cluster
with an untrained model of the preset (speed does not depend on the weights; set
`model.init_layers` to fix the number of levels). Reported, as one JSON line:
- job: end to end (listing, actor start, decode, model, Parquet commits, MLflow), and steady
  state (the actors' time on their batches: decode + model, without the start-up);
- model_alone: `benchmarks/core.py --mode infer` with the same preset, batch and threads;
- ratio: job steady-state frames/s over the model alone's (goal >= 0.8);
- scenedetect: PySceneDetect's ContentDetector on the same files (one process).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from bench_jobs import bench_folder, job_parser, model_alone  # beside this script

from pipelines.evaluate.baselines import VideoInput, scenedetect
from pipelines.results import query
from pipelines.runtime.cluster import init_ray
from pipelines.segment.job import SegmentOptions, segment
from streamer_core import StreamerModel, load_config
from streamer_core.config import InferenceConfig


def _rates(frames: float, video_s: float, seconds: float) -> dict:
    return {"seconds": round(seconds, 3), "frames_per_s": round(frames / seconds, 2),
            "video_s_per_s": round(video_s / seconds, 2)}


def run_job(args, folder: Path) -> tuple[dict, list[dict]]:
    cfg = load_config(args.preset, overrides=args.overrides)
    torch.manual_seed(0)
    StreamerModel(cfg.model).save(folder / "model.pt")
    init_ray()
    options = SegmentOptions(checkpoint=str(folder / "model.pt"), input=str(folder / "corpus"),
                             output=str(folder / "out"), tracking_uri=f"sqlite:///{folder}/mlflow.db", plots=0,
                             inference=InferenceConfig(batch_videos=args.batch_videos, actors=args.actors))
    summary = segment(options)
    con = query.connect(options.output)
    videos = query.run(con, "SELECT video_id, uri, duration_s, frames FROM videos").to_pylist()
    # each batch is one commit; its videos advance together, so the batch took its slowest video's time
    batches = query.run(con, 'SELECT max(seconds) AS s FROM videos GROUP BY "commit"').column("s").to_pylist()
    steady = sum(batches) / args.actors
    job = {"end_to_end": _rates(summary.frames, summary.video_seconds, summary.seconds),
           "steady_state": _rates(summary.frames, summary.video_seconds, steady),
           "videos_ok": summary.videos_ok}
    return job, videos


def run_scenedetect(videos: list[dict]) -> dict:
    started = time.perf_counter()
    for v in videos:
        scenedetect(VideoInput(v["video_id"], v["duration_s"], v["uri"]))
    return _rates(sum(v["frames"] for v in videos), sum(v["duration_s"] for v in videos),
                  time.perf_counter() - started)


def main() -> None:
    p = job_parser(__doc__, videos=6, min_duration=20.0, max_duration=40.0)
    p.add_argument("--batch-videos", type=int, default=4)
    p.add_argument("--actors", type=int, default=1)
    args = p.parse_args()
    with bench_folder(args, "segment") as folder:
        job, videos = run_job(args, folder)
        frames = sum(v["frames"] for v in videos)
        alone = model_alone(args, "infer", round(frames / len(videos)), args.batch_videos, args.actors)
        snippet = load_config(args.preset, overrides=args.overrides).model.snippet_size
        alone_rates = {"frames_per_s": alone["frames_per_s"],
                       "video_s_per_s": round(alone["frames_per_s"] * snippet, 2), "threads": alone["threads"]}
        print(json.dumps({
            "preset": args.preset, "videos": len(videos), "frames": frames,
            "video_seconds": round(sum(v["duration_s"] for v in videos), 1),
            "batch_videos": args.batch_videos, "actors": args.actors, "job": job, "model_alone": alone_rates,
            "ratio_steady": round(job["steady_state"]["frames_per_s"] / alone["frames_per_s"], 3),
            "ratio_end_to_end": round(job["end_to_end"]["frames_per_s"] / alone["frames_per_s"], 3),
            "goal": 0.8, "scenedetect": run_scenedetect(videos)}))


if __name__ == "__main__":
    main()
