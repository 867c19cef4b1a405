"""What the job benchmarks share: their command line (preset, corpus size, overrides), the sample
corpus they write from it, and the model-alone run they compare against."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.sample.corpus import CorpusOptions, write_corpus


def job_parser(doc: str, videos: int, min_duration: float, max_duration: float) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--videos", type=int, default=videos)
    p.add_argument("--min-duration", type=float, default=min_duration)
    p.add_argument("--max-duration", type=float, default=max_duration)
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE")
    return p


@contextmanager
def bench_folder(args: argparse.Namespace, name: str) -> Iterator[Path]:
    """A temporary folder holding the sample corpus the arguments ask for, in `<folder>/corpus`."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        folder = Path(tmp)
        write_corpus(folder / "corpus", CorpusOptions(videos=args.videos, min_duration_s=args.min_duration,
                                                      max_duration_s=args.max_duration))
        yield folder


def model_alone(args: argparse.Namespace, mode: str, frames: int, videos: int, threads: int) -> dict:
    """`benchmarks/core.py` on the same preset and overrides, in its own process: its JSON line."""
    command = [sys.executable, str(Path(__file__).with_name("core.py")), "--preset", args.preset, "--mode", mode,
               "--frames", str(frames), "--videos", str(videos), "--threads", str(threads),
               *[f"--set={o}" for o in args.overrides]]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
