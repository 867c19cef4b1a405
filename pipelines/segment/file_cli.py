"""Segment one or a few video files with a trained model: no Ray, no store (`InferenceModel`).

    streamer-segment-file --checkpoint model.pt cooking.mp4 [s3://footage/b.mp4 ...] \
        [--format json|csv|vtt|otio] [--out DIR] [--device cpu|cuda] [--precision bfloat16] \
        [--set model.refine=0.3]

The files advance together through one model. With no --out, each file's hierarchy is one JSON
line on stdout; with --out, the format's files are written there (see streamer-export). A file
that cannot be segmented is one `error:` line naming it; the others are still done, and the
status is 2. The last stdout line is a JSON summary. `--set model.refine=0.3` places the events with
another level-0 penalty than the checkpoint's (higher: fewer, longer events), as the segment job's
--set does; the summary's model_version then names it.
"""
from __future__ import annotations

import json
import sys

from pipelines import cli


def parser() -> cli.Parser:
    from pipelines.results.export import FORMATS
    from pipelines.segment.inference import PRECISIONS

    p = cli.parser(__doc__)
    p.add_argument("--checkpoint", required=True, help="model.pt (s3:// or local), from jobs/train.py")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (local or s3://)")
    p.add_argument("--format", default="json", choices=FORMATS, help="what to write")
    p.add_argument("--out", metavar="DIR", help="folder for the files (default: JSON lines on stdout)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    p.add_argument("--precision", choices=PRECISIONS, help="arithmetic (default: the checkpoint's)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="model.KEY=VALUE",
                   help="an option that places events, in place of the checkpoint's (model.refine: level 0's "
                        "penalty; model.refine_min_event, model.refine_coarse, model.refine_periods, "
                        "model.refine_posterior), repeatable")
    return p


@cli.command
def main(argv: list[str] | None = None) -> int:
    p = parser()
    a = cli.parse(p, argv)
    if a.format != "json" and not a.out:
        p.error(f"--format {a.format} writes files: give --out")
    if others := [o for o in a.overrides if not o.startswith("model.")]:
        p.error(f"--set {others[0]}: only model options that place events may change here")
    from pipelines.results import export
    from pipelines.segment.inference import InferenceModel
    from streamer_core import load_config
    from streamer_core.config import named_options, placement_options

    placement = placement_options(load_config(overrides=a.overrides), named_options(overrides=a.overrides))
    model = InferenceModel(a.checkpoint, device=a.device, precision=a.precision, placement=placement)
    written, failed = [], {}
    for result in model.results(a.videos):
        if result.status != "ok":
            failed[result.video_id] = result.error
            print(f"error: {result.error}", file=sys.stderr, flush=True)
            continue
        hierarchy = result.hierarchy()
        if not a.out:
            print(export.to_json(hierarchy, result.uri), flush=True)
            continue
        try:
            paths = [str(path) for path in export.write(hierarchy, result.uri, a.format, a.out)]
        except cli.USER_ERRORS as exc:  # the media went away after segmenting
            failed[result.video_id] = cli.one_line(exc)
            print(f"error: {failed[result.video_id]}", file=sys.stderr, flush=True)
            continue
        print("\n".join(paths), flush=True)
        written += paths
    print(json.dumps({"model_version": model.version, "videos_ok": len(a.videos) - len(failed),
                      "videos_failed": len(failed), "written": written, "failed": failed}))
    return 2 if failed else 0
