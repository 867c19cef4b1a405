"""Segment the footage under --input with a trained model into Parquet tables under --output.

    streamer-segment --checkpoint s3://models/model.pt --input s3://footage/ --output s3://results/streamer \
        [--all | --retry-failed] [--batch-videos 4] [--actors 2] [--cpus-per-actor 1] [--gpus-per-actor 1]
        [--set inference.actors=2] [--set model.refine=0.3] [--tracking-uri URI] [--compact]
    streamer-segment        # the sample corpus in the local store, with the last model trained on it

With no --input: the sample corpus in the local SeaweedFS store (started if needed), results in the
same store, and the last model `jobs/train.py` trained on it unless --checkpoint; with --input,
--checkpoint and --output are needed.

Nightly by default: only videos with no result for this model version and ETag yet (new or
changed footage); --retry-failed also retries videos that failed, --all redoes everything. The
`inference` section (batch_videos, actors) and data.chunk_frames come from --preset/--config/--set
like training's config; --batch-videos, --actors and --chunk-frames are shortcuts for them. The
model's own config travels in the checkpoint, but for the options that only place events once a video
has ended: `--set model.refine=0.3` (level 0's penalty: higher, fewer and longer events),
model.refine_min_event, model.refine_coarse, model.refine_periods and model.refine_posterior; the results'
model_version names them
("...+refine=0.3"), so a nightly run does not take them for the checkpoint's own. Any other model
option is an error. Joins the cluster in RAY_ADDRESS (as `ray job
submit` sets it), else starts a local one, once the checkpoint has been checked and there is work
to do. Actors: as many as the cluster's free CPUs (and GPUs) hold unless --actors (or
inference.actors in --set/--config) says; each asks Ray for --cpus-per-actor CPUs (decoding runs in
CPU threads beside the model either way) and --gpus-per-actor GPUs (default: one when the cluster
has GPUs; 0: CPU only). A request the cluster cannot grant is an error before any work. The last
stdout line is a JSON summary. --compact then compacts the output's tables as `streamer-compact
--output` does (its summary under "compaction"); a compaction that fails is an error, the run's
results stay committed, and a re-run compacts them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import yaml

from pipelines import cli


def parser() -> cli.Parser:
    # the preset gives only the inference and data sections here (the model's config is the checkpoint's);
    # "default" keeps the recommended ones (tiny decodes in smaller chunks)
    p = cli.parser(__doc__, cli.config_options(preset="default"), cli.tracking_options())
    p.add_argument("--checkpoint", help="model.pt (s3:// or local), from jobs/train.py "
                   "(default with no --input: the last model trained on the sample corpus)")
    p.add_argument("--input", help="corpus: s3://bucket/prefix or a folder (default: the sample corpus)")
    p.add_argument("--output", help="results: s3://bucket/prefix or a folder (default with no --input: "
                   "the sample store's results)")
    p.add_argument("--all", action="store_true", help="segment every video, not only new ones")
    p.add_argument("--retry-failed", action="store_true", help="also retry videos that failed before")
    p.add_argument("--batch-videos", type=int,
                   help="videos advanced together per forward pass (inference.batch_videos)")
    p.add_argument("--actors", type=int, help="model replicas (inference.actors; default: what the cluster holds)")
    p.add_argument("--cpus-per-actor", type=float, default=1.0, help="Ray CPUs per actor (decoding and torch threads)")
    p.add_argument("--gpus-per-actor", type=float,
                   help="Ray GPUs per actor, fractions share one (default: 1 when the cluster has GPUs, else 0)")
    p.add_argument("--chunk-frames", type=int, help="samples decoded at once (data.chunk_frames)")
    p.add_argument("--plots", type=int, default=3, help="timelines logged to MLflow")
    p.add_argument("--compact", action="store_true",
                   help="then compact the output's tables into few large files (as streamer-compact)")
    return p


def overrides(args: argparse.Namespace) -> list[str]:
    """--set items, then the shortcut flags as the overrides they stand for."""
    flags = {"inference.batch_videos": args.batch_videos, "inference.actors": args.actors,
             "data.chunk_frames": args.chunk_frames}
    return list(args.overrides) + [f"{key}={value}" for key, value in flags.items() if value is not None]


def actors_given(args: argparse.Namespace) -> bool:
    """--actors, `--set inference.actors=N` or the --config file's inference.actors."""
    if args.actors is not None or any(o.partition("=")[0].strip() == "inference.actors" for o in args.overrides):
        return True
    section = (yaml.safe_load(Path(args.config).read_text()) or {}).get("inference") if args.config else None
    return isinstance(section, dict) and "actors" in section


@cli.command
def main(argv: list[str] | None = None) -> int:
    args = cli.parse(parser(), argv)
    from pipelines.segment.job import SegmentOptions, segment
    from pipelines.segment.resources import check_request
    from streamer_core import load_config
    from streamer_core.config import named_options, placement_options

    cfg = load_config(args.preset, args.config, overrides(args))
    placement = placement_options(cfg, named_options(args.config, args.overrides))
    check_request(args.cpus_per_actor, args.gpus_per_actor)
    checkpoint, source, output, settings = args.checkpoint, args.input, args.output, None
    if source is None:
        from pipelines.sample.store import segmenting_store

        checkpoint, store = segmenting_store(checkpoint)
        source, output, settings = store.corpus, output or store.results, store.settings
    elif not (checkpoint and output):
        raise cli.UserError("--input needs --checkpoint and --output (or leave all three out: the sample corpus)")
    summary = segment(SegmentOptions(
        checkpoint=checkpoint, input=source, output=output, tracking_uri=args.tracking_uri,
        redo_all=args.all, retry_failed=args.retry_failed, inference=cfg.inference,
        chunk_frames=cfg.data.chunk_frames, plots=args.plots, actors_from_cluster=not actors_given(args),
        cpus_per_actor=args.cpus_per_actor, gpus_per_actor=args.gpus_per_actor, compact=args.compact,
        placement=placement), settings)
    print(json.dumps(dataclasses.asdict(summary)))
    return 0
