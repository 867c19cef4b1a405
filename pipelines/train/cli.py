"""Train STREAMER over a corpus with Ray Train workers (the stages: pipelines.train.job).

    streamer-train [--input s3://bucket/prefix | DIR] [--preset tiny-default|tiny|default|paper] [--config FILE]
        [--set section.key=value ...] [--workers N] [--checkpoint-dir URI] [--max-videos N]
        [--tracking-uri URI] [--resume [RUN]]
    ray job submit --address http://HEAD:8265 --working-dir . -- python jobs/train.py ...

The preset is the recommended one at the tiny size unless given (`paper` is the published one).
With no --input (and no data.input): the preset on the sample corpus in the local SeaweedFS
store (started, and the corpus generated and uploaded, if needed), checkpoints in the same store.
Joins the cluster in RAY_ADDRESS (`ray job submit` sets it), else starts a local one. Each worker
asks Ray for `train.cpus_per_worker` CPUs and `train.gpus_per_worker` GPUs (`--set
train.gpus_per_worker=1`; fractions share one; 0, the default: CPU workers); decoding stays in a CPU
thread beside the model. A bad config, an unreachable input or resources the cluster cannot grant
is one `error:` line and exit status 2, before any worker starts.
The last stdout line is a JSON summary: mlflow_run_id, checkpoint (URI of the final model.pt),
videos, frames, failed_videos, seconds.
"""
from __future__ import annotations

import argparse

from pipelines import cli


def parser() -> cli.Parser:
    p = cli.parser(__doc__, cli.config_options(preset="tiny-default"), cli.tracking_options())
    p.add_argument("--input", help="corpus: s3://bucket/prefix or a folder (data.input; default: the sample corpus)")
    p.add_argument("--workers", type=int, help="training workers (train.workers)")
    p.add_argument("--checkpoint-dir", help="s3:// prefix or folder for checkpoints and model.pt "
                   "(train.checkpoint_dir; default: the sample store with no input, else <state dir>/checkpoints)")
    p.add_argument("--max-videos", type=int, help="learn only the first N videos (data.max_videos)")
    p.add_argument("--resume", nargs="?", const="last", metavar="RUN",
                   help="continue a stopped run (default: the last one started) from its last "
                        "checkpoint, with its own config and videos")
    return p


def overrides(args: argparse.Namespace) -> list[str]:
    """--set items, then the shortcut flags as the overrides they stand for."""
    flags = {"data.input": args.input, "train.workers": args.workers,
             "train.checkpoint_dir": args.checkpoint_dir, "data.max_videos": args.max_videos}
    return list(args.overrides) + [f"{key}={value}" for key, value in flags.items() if value is not None]


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = cli.parse(parser(), argv)
    from pipelines.sample.store import with_default_input
    from pipelines.train.job import TrainOptions, train
    from streamer_core import load_config

    cfg = load_config(args.preset, args.config, overrides(args))  # checked before the store starts
    cfg, s3 = with_default_input(cfg, resume=bool(args.resume))
    summary = train(cfg, TrainOptions(tracking_uri=args.tracking_uri, resume=args.resume, s3=s3))
    print(summary.to_json())
    return 0
