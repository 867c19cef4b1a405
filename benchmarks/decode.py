"""Decode throughput in video-seconds per second, from a folder and from SeaweedFS S3.

Beside it, the floor: decord decoding every frame of the same files at their own size, with
no sampling and no resizing. Prints one JSON line. Usage::

    python benchmarks/decode.py [--videos 6] [--seed 0] [--repeat 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow, list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks, read_chunks
from pipelines.runtime.local_s3 import local_s3
from pipelines.sample.corpus import CorpusOptions, write_corpus


def _timed(run, repeat: int) -> float:
    """Median wall time of ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _decode_in_process(manifest: list[ManifestRow], settings: DecodeSettings, s3=None):
    def run():
        for row in manifest:
            for chunk in iter_chunks(row, settings, s3):
                if chunk["error"]:
                    raise RuntimeError(chunk["error"])
    return run


def _decode_with_ray(manifest: list[ManifestRow], settings: DecodeSettings, s3=None):
    def run():
        for chunk in read_chunks(manifest, settings, s3=s3).iter_rows():
            if chunk["error"]:
                raise RuntimeError(chunk["error"])
    return run


def _decode_every_frame(manifest: list[ManifestRow], batch: int = 64):
    import decord

    def run():
        for row in manifest:
            reader = decord.VideoReader(row.uri)
            for lo in range(0, len(reader), batch):
                reader.get_batch(list(range(lo, min(lo + batch, len(reader))))).asnumpy()
    return run


def _ray_rates(local, remote, settings, s3, repeat: int, seconds: float) -> dict:
    import ray

    from pipelines.runtime.cluster import init_ray

    started = init_ray(num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        _decode_with_ray(local, settings)()  # warm the worker processes
        return {
            "ray_local_video_s_per_s": seconds / _timed(_decode_with_ray(local, settings), repeat),
            "ray_s3_video_s_per_s":
                seconds / _timed(_decode_with_ray(remote, settings, s3), repeat),
        }
    finally:
        if started:
            ray.shutdown()


def _measure(folder: str, s3, args) -> dict:
    settings = DecodeSettings(image_size=args.image_size)
    specs = write_corpus(folder, CorpusOptions(videos=args.videos, seed=args.seed,
                                               size=args.size))
    seconds = sum(s.duration_s for s in specs)
    storage.s3_client(s3).create_bucket(Bucket="bench")
    storage.upload_dir(folder, "s3://bench/corpus", s3)
    local, remote = list_corpus(folder), list_corpus("s3://bench/corpus", s3)
    result = {
        "benchmark": "decode", "videos": len(specs), "video_seconds": round(seconds, 2),
        "source_size": args.size, "image_size": args.image_size,
        "snippet_size": settings.snippet_size, "cpus": os.cpu_count(),
        "local_video_s_per_s": seconds / _timed(_decode_in_process(local, settings), args.repeat),
        "s3_video_s_per_s":
            seconds / _timed(_decode_in_process(remote, settings, s3), args.repeat),
        "floor_every_frame_video_s_per_s":
            seconds / _timed(_decode_every_frame(local), args.repeat),
    }
    if not args.no_ray:
        result.update(_ray_rates(local, remote, settings, s3, args.repeat, seconds))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128, help="source frame size")
    parser.add_argument("--image-size", type=int, default=128, help="decoded sample size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, local_s3() as server:
        result = _measure(folder, server.settings(), args)
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v
                      for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
