"""The segment job at archive scale: many short videos and one long one through the real job, a
nightly re-run, compaction and DuckDB queries over a million event rows. One JSON line per step;
the last line is the summary.

    python benchmarks/scale.py [--videos 2000] [--long-minutes 60] [--folder DIR] [--preset tiny-default]
                               [--batch-videos 4] [--actors 2] [--event-rows 1000000] [--set section.key=value ...]

1. corpus: `--videos` sample videos (6-10 s, 64 px) and one `--long-minutes` video, written into
   --folder (kept and reused by later runs with the same sizes; default a temp folder);
2. the job over the short videos with an untrained model (`benchmarks/segment.py`'s run: speed does
   not depend on the weights): video_seconds_per_s end to end; ratio_to_model, its steady state (the
   actors' time on their batches) over the model alone: the same model on the first --alone-videos
   videos' samples, decoded beforehand, in batches as the actors take them, one thread per actor
   (`benchmarks/core.py` times one batch, which for streams this short is mostly per-run costs);
   overhead_ms_per_video, the end-to-end seconds beyond the model alone's, per video;
3. the long video in one actor, whose peak RSS (VmHWM) is read from /proc every half second once
   it has loaded its model: rss_mb_min5 when it is 5 minutes into the video (by elapsed share),
   rss_mb_min60 at its end
   (and the current RSS at each tenth of the video, to tell steady growth from a spike at the end);
4. nightly_noop_s: the job again over the same listing, every video skipped;
5. the events topped up to --event-rows through the real results writer (`benchmarks/compact.py`),
   then `pipelines.results.compact`: files per table before and after;
6. query_p50_ms: DuckDB p50 of the `levels`, `at_time` and `similar` examples over --queries videos.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch
from bench_jobs import job_parser  # beside this script
from compact import write_commits
from segment import run_job

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.results import compact, query
from pipelines.sample.corpus import CorpusOptions, make_specs, write_corpus, write_video
from pipelines.segment.job import SegmentOptions, segment
from streamer_core import Streamer, StreamerModel, StreamSource, load_config
from streamer_core.config import InferenceConfig


def emit(step: str, **values) -> None:
    print(json.dumps({"step": step, **values}), flush=True)


def write_inputs(folder: Path, args: argparse.Namespace) -> None:
    """`corpus/` (the short videos) and `long/long.mp4`, unless a run with the same sizes left them."""
    stamp = folder / "sizes.json"
    sizes = {k: vars(args)[k] for k in ("videos", "min_duration", "max_duration", "long_minutes")}
    if stamp.exists() and json.loads(stamp.read_text()) == sizes:
        return
    for name in ("corpus", "long"):
        shutil.rmtree(folder / name, ignore_errors=True)
    write_corpus(folder / "corpus", CorpusOptions(videos=args.videos, min_duration_s=args.min_duration,
                                                  max_duration_s=args.max_duration, size=64))
    long_s = args.long_minutes * 60.0
    (spec,) = make_specs(CorpusOptions(videos=1, seed=1, min_duration_s=long_s, max_duration_s=long_s, size=64,
                                       fps=(10.0,)))
    (folder / "long").mkdir()
    write_video(spec, folder / "long" / "long.mp4")
    stamp.write_text(json.dumps(sizes))


def model_alone(folder: Path, videos: int, batch: int) -> float:
    """Video-seconds/s of the job's model on one thread over decoded samples of the first videos."""
    torch.set_num_threads(1)  # as in each actor (Ray sets OMP_NUM_THREADS to its CPUs)
    model = StreamerModel.from_checkpoint(folder / "model.pt").eval()
    decode = DecodeSettings.for_model(model.cfg)
    rows = list_corpus(str(folder / "corpus"))[:videos]
    chunks = [list(iter_chunks(r, decode)) for r in rows]
    streams = [StreamSource(r.video_id, [c["samples"] for c in cs], cs[0]["duration_s"]) for r, cs in zip(rows, chunks)]
    start = time.perf_counter()
    with torch.no_grad():
        done = [h.duration_s for k in range(0, len(streams), batch) for h in Streamer(model).run(streams[k:k + batch])]
    return sum(done) / (time.perf_counter() - start)


def _descends_from_us(pid: int) -> bool:
    """Whether the process was started by this one, through Ray's raylet (not another user's Ray)."""
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def _actor_memory_kb() -> tuple[int, int] | None:
    """(VmHWM, VmRSS) of this run's segment actor once it has loaded its model (its process title
    names SegmentActor, and __init__ until then)."""
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            if b"SegmentActor" in title and b"__init__" not in title and _descends_from_us(int(entry.name)):
                status = (entry / "status").read_text()
                return tuple(int(status.split(f"{key}:")[1].split()[0]) for key in ("VmHWM", "VmRSS"))
        except (OSError, IndexError, ValueError):
            continue
    return None


@contextmanager
def sampled_actor_memory(every_s: float = 0.5):
    """(seconds, VmHWM kB, VmRSS kB) of the segment actor while the block runs."""
    samples: list[tuple[float, int, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            kb = _actor_memory_kb()
            if kb is not None:
                samples.append((time.perf_counter(), *kb))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def memory_at(samples: list[tuple[float, int, int]], share: float, peak: bool = True) -> float:
    """Peak (or current) RSS in MB at that share of the actor's life (its video is read at a steady pace)."""
    first, last = samples[0][0], samples[-1][0]
    at = [s for s in samples if s[0] <= first + share * (last - first)][-1]
    return round(at[1 if peak else 2] / 1024, 1)


def query_p50s(output: str, videos: list[dict], count: int) -> dict[str, float]:
    con = query.connect(output)
    chosen = random.Random(0).sample(videos, min(count, len(videos)))
    asks = {"levels": lambda v: {}, "at_time": lambda v: {"t": v["duration_s"] / 2},
            "similar": lambda v: {"level": 0, "event_index": 0, "k": 5}}
    p50 = {}
    for name, params in asks.items():
        times = []
        for v in chosen:
            start = time.perf_counter()
            query.example(con, name, video_id=v["video_id"], **params(v))
            times.append(time.perf_counter() - start)
        p50[name] = round(1000 * statistics.median(times), 1)
    return p50


def run(folder: Path, args: argparse.Namespace) -> dict:
    write_inputs(folder, args)
    shutil.rmtree(folder / "out", ignore_errors=True)
    (folder / "mlflow.db").unlink(missing_ok=True)
    job, videos = run_job(args, folder)  # init_ray, model.pt, the job over corpus/ into out/
    video_s = sum(v["duration_s"] for v in videos)
    alone_video_s = args.actors * model_alone(folder, args.alone_videos, args.batch_videos)  # one per actor
    emit("job", **job, model_alone_video_s_per_s=round(alone_video_s, 2))

    options = SegmentOptions(checkpoint=str(folder / "model.pt"), input=str(folder / "long"),
                             output=str(folder / "out"), tracking_uri=f"sqlite:///{folder}/mlflow.db", plots=0,
                             inference=InferenceConfig(batch_videos=1, actors=1))
    with sampled_actor_memory() as samples:
        long_run = segment(options)
    rss = {"rss_mb_min5": memory_at(samples, min(1.0, 5 / args.long_minutes)), "rss_mb_min60": memory_at(samples, 1.0)}
    emit("long", seconds=long_run.seconds, video_seconds=long_run.video_seconds, samples=len(samples), **rss,
         rss_mb_by_tenth=[memory_at(samples, k / 10, peak=False) for k in range(1, 11)])

    nightly = segment(replace(options, input=str(folder / "corpus"),
                              inference=InferenceConfig(args.batch_videos, args.actors)))
    emit("nightly", seconds=nightly.seconds, skipped=nightly.videos_skipped, done=nightly.videos_ok)

    rows = query.run(query.connect(options.output), "SELECT count(*) AS n FROM events_all").column("n")[0].as_py()
    per_commit = 100 * 100  # videos x events
    top_up = argparse.Namespace(commits=max(0, -(-(args.event_rows - rows) // per_commit)), videos_per_commit=100,
                                events=100, dim=load_config(args.preset, overrides=args.overrides).model.embed_dim)
    write_commits(options.output, top_up, None)
    compacted = compact.compact(options.output)
    emit("compact", seconds=compacted.seconds, tables=compacted.tables)

    con = query.connect(options.output)
    all_videos = query.run(con, "SELECT video_id, duration_s FROM videos WHERE status = 'ok'").to_pylist()
    return {"videos": len(videos), "video_seconds": round(video_s, 1), "actors": args.actors,
            "video_seconds_per_s": job["end_to_end"]["video_s_per_s"],
            "ratio_to_model": round(job["steady_state"]["video_s_per_s"] / alone_video_s, 3),
            "overhead_ms_per_video": round(1000 * (job["end_to_end"]["seconds"] - video_s / alone_video_s)
                                           / len(videos), 1),
            **rss, "long_minutes": args.long_minutes, "nightly_noop_s": nightly.seconds,
            "files_before": {k: t["files_before"] for k, t in compacted.tables.items()},
            "files_after": {k: t["files_after"] for k, t in compacted.tables.items()},
            "event_rows": compacted.tables["events"]["rows"],
            "query_p50_ms": query_p50s(options.output, all_videos, args.queries)}


def main() -> None:
    p = job_parser(__doc__, videos=2000, min_duration=6.0, max_duration=10.0)
    p.set_defaults(preset="tiny-default")
    p.add_argument("--long-minutes", type=float, default=60.0)
    p.add_argument("--batch-videos", type=int, default=4)
    p.add_argument("--actors", type=int, default=2)
    p.add_argument("--event-rows", type=int, default=1_000_000, help="events topped up to this many rows")
    p.add_argument("--queries", type=int, default=30, help="videos each query is timed on")
    p.add_argument("--alone-videos", type=int, default=200, help="videos the model alone is timed on")
    p.add_argument("--folder", help="keeps the corpus between runs (results, model and MLflow store replaced)")
    args = p.parse_args()
    if args.folder:
        Path(args.folder).mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(Path(args.folder), args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        print(json.dumps(run(Path(tmp), args)))


if __name__ == "__main__":
    main()
