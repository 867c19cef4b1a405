"""Train STREAMER over a corpus with Ray Train workers; see pipelines/train.py for the stages.

    python jobs/train.py [--input s3://bucket/prefix | DIR] [--preset tiny|default|paper] [--config FILE]
        [--set section.key=value ...] [--workers N] [--checkpoint-dir URI] [--max-videos N]
        [--tracking-uri URI] [--resume [RUN]]
    ray job submit --address http://HEAD:8265 --working-dir . -- python jobs/train.py ...

With no --input: the `tiny` preset on the sample corpus in the local SeaweedFS store (started,
and the corpus generated and uploaded, if needed), checkpoints in the same store. Joins the
cluster in RAY_ADDRESS (`ray job submit` sets it), else starts a local one. A bad config or an
unreachable input exits with status 2 before any worker starts. The last stdout line is a JSON
summary: mlflow_run_id, checkpoint (URI of the final model.pt), videos, frames, failed_videos,
seconds.
"""
from __future__ import annotations

import argparse
import sys

from pipelines.train.job import TrainInputError, TrainOptions, train
from streamer_core import ConfigError, load_config
from streamer_core.config import PRESETS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", help="corpus: s3://bucket/prefix or a folder (default: the sample corpus)")
    p.add_argument("--preset", default="tiny", choices=sorted(PRESETS),
                   help="tiny (the default, for a quick look), default (recommended), paper (as published)")
    p.add_argument("--config", help="YAML/JSON file of config sections, over the preset")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="config override, repeatable (e.g. learn.average_every=50)")
    p.add_argument("--workers", type=int, help="training workers (train.workers)")
    p.add_argument("--checkpoint-dir", help="s3:// prefix or folder for checkpoints and model.pt "
                   "(default: the sample store with no --input, else <state dir>/checkpoints)")
    p.add_argument("--max-videos", type=int, help="learn only the first N videos (data.max_videos)")
    p.add_argument("--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI, else .state/mlflow)")
    p.add_argument("--resume", nargs="?", const="last", metavar="RUN",
                   help="continue a stopped run (default: the last one started) from its last "
                        "checkpoint, with its own config and videos")
    return p.parse_args(argv)


def overrides(args: argparse.Namespace, input_uri: str | None, checkpoint_dir: str | None) -> list[str]:
    flags = {"data.input": input_uri, "train.workers": args.workers,
             "train.checkpoint_dir": checkpoint_dir, "data.max_videos": args.max_videos}
    return list(args.set) + [f"{key}={value}" for key, value in flags.items() if value is not None]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        load_config(args.preset, args.config, overrides(args, None, None))  # fail fast, before the store
        input_uri, checkpoint_dir, s3 = args.input, args.checkpoint_dir, None
        if not input_uri and (checkpoint_dir is None or not args.resume):
            from pipelines.sample.store import default_store

            store = default_store()
            input_uri, s3 = input_uri or store.corpus, store.settings
            checkpoint_dir = checkpoint_dir or store.checkpoints
        cfg = load_config(args.preset, args.config, overrides(args, input_uri, checkpoint_dir))
        summary = train(cfg, TrainOptions(tracking_uri=args.tracking_uri, resume=args.resume, s3=s3))
    except (ConfigError, TrainInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
