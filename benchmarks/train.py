"""The training job's speed against the model alone, on the same preset and videos.

    python benchmarks/train.py [--preset tiny] [--videos 4] [--min-duration 20] [--max-duration 30]
                               [--workers 1] [--cpus-per-worker 2] [--set section.key=value ...]

A sample corpus is written to a temp folder and learned by the job (`pipelines.train.job`) on a
local Ray cluster. Reported, as one JSON line:
- job: end to end (planning, Ray Train start, decode, learning, checkpoints, MLflow), and steady
  state (the workers' own time between checkpoints, from the run record's history);
- model_alone: `benchmarks/core.py --mode train` with the same preset, video length, video count
  per worker and threads per worker;
- overhead: 1 - job steady-state frames/s over (workers x the model alone's) (goal < 0.2).
"""
from __future__ import annotations

import json
from pathlib import Path

from bench_jobs import bench_folder, job_parser, model_alone  # beside this script

from pipelines.data import storage
from pipelines.runtime.cluster import init_ray
from pipelines.train.job import TrainOptions, train
from pipelines.train.record import TrainRecord
from streamer_core import load_config


def run_job(args, folder: Path) -> dict:
    cfg = load_config(args.preset, overrides=[
        f"data.input={folder / 'corpus'}", f"train.checkpoint_dir={folder / 'ckpt'}", f"train.workers={args.workers}",
        f"train.cpus_per_worker={args.cpus_per_worker}", *args.overrides])
    init_ray(num_cpus=max(4, args.workers * args.cpus_per_worker + 2))
    summary = train(cfg, TrainOptions(tracking_uri=f"sqlite:///{folder}/mlflow.db"))
    record = TrainRecord.from_json(storage.read_bytes(storage.join(summary.run_dir, "record.json")).decode())
    steady_s = sum(h["interval_s"] for h in record.history)
    return {"frames": summary.frames, "videos": summary.videos,
            "end_to_end": {"seconds": summary.seconds, "frames_per_s": round(summary.frames / summary.seconds, 2)},
            "steady_state": {"seconds": round(steady_s, 3), "frames_per_s": round(summary.frames / steady_s, 2)}}


def main() -> None:
    p = job_parser(__doc__, videos=4, min_duration=20.0, max_duration=30.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--cpus-per-worker", type=int, default=2)
    args = p.parse_args()
    with bench_folder(args, "train") as folder:
        job = run_job(args, folder)
    alone = model_alone(args, "train", round(job["frames"] / job["videos"]), max(1, job["videos"] // args.workers),
                        args.cpus_per_worker)
    ideal = alone["frames_per_s"] * args.workers
    print(json.dumps({"preset": args.preset, "workers": args.workers, "cpus_per_worker": args.cpus_per_worker,
                      "job": job, "model_alone": {k: alone[k] for k in ("frames_per_s", "threads", "peak_rss_mb")},
                      "overhead_steady": round(1 - job["steady_state"]["frames_per_s"] / ideal, 3),
                      "overhead_end_to_end": round(1 - job["end_to_end"]["frames_per_s"] / ideal, 3),
                      "goal_overhead": 0.2}))


if __name__ == "__main__":
    main()
