"""What the job benchmarks share: their command line (preset, corpus size, overrides) and the
sample corpus they write from it."""
from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.sample_corpus import CorpusOptions, write_corpus


def job_parser(doc: str, videos: int, min_duration: float, max_duration: float) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--videos", type=int, default=videos)
    p.add_argument("--min-duration", type=float, default=min_duration)
    p.add_argument("--max-duration", type=float, default=max_duration)
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE")
    return p


def write_bench_corpus(folder: Path, args: argparse.Namespace) -> None:
    write_corpus(folder, CorpusOptions(videos=args.videos, min_duration_s=args.min_duration,
                                       max_duration_s=args.max_duration))
