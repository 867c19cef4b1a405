"""Decoding from SeaweedFS and through Ray Data gives the same streams as from a folder;
memory stays bounded on a long video."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from helpers.bad_files import corrupt_middle
from helpers.decode import (
    assert_same_streams,
    assert_well_ordered,
    decode_all,
    gather,
    write_bad_files,
)

from pipelines.data import storage
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks, read_chunks
from pipelines.sample.corpus import CorpusOptions, make_specs, write_corpus, write_video

pytestmark = pytest.mark.slow
SETTINGS = DecodeSettings(image_size=40, chunk_frames=10)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A small corpus with every kind of bad file beside the good videos."""
    root = tmp_path_factory.mktemp("corpus")
    write_corpus(root, CorpusOptions(videos=3, seed=11, min_duration_s=5, max_duration_s=9,
                                     size=64, fps=(29.97, 12.5)))
    good = sorted(root.rglob("*.mp4"))
    write_bad_files(root, good[0])
    (root / "bad" / "broken_midway.mp4").write_bytes(corrupt_middle(good[1].read_bytes()))
    return root


@pytest.fixture
def uploaded(folder, upload_corpus) -> str:
    return upload_corpus(folder)


def test_s3_and_folder_give_identical_streams(folder, uploaded, s3_server):
    settings = s3_server.settings()
    local, remote = list_corpus(str(folder)), list_corpus(uploaded, settings)
    assert [r.video_id for r in local] == [r.video_id for r in remote]
    local_streams = decode_all(local, SETTINGS)
    assert_same_streams(local_streams, decode_all(remote, SETTINGS, settings))
    spooled = decode_all(remote, replace(SETTINGS, max_in_memory_bytes=0), settings)
    assert_same_streams(local_streams, spooled)
    for video_id, chunks in local_streams.items():
        if not video_id.startswith("bad/"):
            assert_well_ordered(chunks, SETTINGS)


def test_object_deleted_after_listing_is_a_failure_row(uploaded, s3_server):
    settings = s3_server.settings()
    manifest = list_corpus(uploaded, settings)
    gone = next(r for r in manifest if not r.video_id.startswith("bad/"))
    bucket, key = storage.split_s3(gone.uri)
    storage.s3_client(settings).delete_object(Bucket=bucket, Key=key)
    streams = decode_all(manifest, SETTINGS, settings)
    (row,) = streams[gone.video_id]
    assert row["error"].startswith("FileNotFoundError") and gone.uri in row["error"]
    for video_id, chunks in streams.items():
        if video_id != gone.video_id and not video_id.startswith("bad/"):
            assert_well_ordered(chunks, SETTINGS)


def test_ray_data_gives_the_same_chunks_as_iter_chunks(folder, uploaded, s3_server, ray_cluster):
    settings = s3_server.settings()
    manifest = list_corpus(uploaded, settings)
    rows = list(read_chunks(manifest, SETTINGS, s3=settings).iter_rows())
    expected = gather(c for row in manifest for c in iter_chunks(row, SETTINGS, settings))
    assert_same_streams(expected, gather(rows))  # gather keeps arrival order per video
    assert gather(rows)["bad/empty.mp4"][0]["error"]


def test_ray_data_reads_s3_with_credentials_from_the_job_env(uploaded, s3_server, ray_cluster):
    """As in a submitted job: no settings passed, the AWS variables come from runtime_env."""
    import ray.data

    manifest = [r.to_dict() for r in list_corpus(uploaded, s3_server.settings())
                if not r.video_id.startswith("bad")]
    dataset = ray.data.from_items(manifest)
    chunks = read_chunks(dataset, SETTINGS, runtime_env={"env_vars": s3_server.env()})
    streams = gather(chunks.iter_rows())
    assert sorted(streams) == sorted(r["video_id"] for r in manifest)
    for chunks in streams.values():
        assert_well_ordered(chunks, SETTINGS)


PEAK_RSS = textwrap.dedent("""
    import json, os, resource, sys
    from pipelines.data.corpus import list_corpus
    from pipelines.data.decode import DecodeSettings, iter_chunks
    (row,) = list_corpus(sys.argv[1])
    settings = DecodeSettings(image_size=128, chunk_frames=64)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    samples = sum(len(c["t_sec"]) for c in iter_chunks(row, settings))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"samples": samples, "peak_growth_kib": after - before}))
""")


def test_peak_memory_does_not_grow_with_video_length(tmp_path):
    growth = {}
    for minutes in (1, 10):
        options = CorpusOptions(videos=1, seed=5, min_duration_s=60 * minutes,
                                max_duration_s=60 * minutes, size=64, fps=(10.0,))
        (tmp_path / str(minutes)).mkdir()
        write_video(make_specs(options)[0], tmp_path / str(minutes) / "long.mp4")
        out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(tmp_path / str(minutes))],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        assert result["samples"] == 120 * minutes
        growth[minutes] = result["peak_growth_kib"] * 1024
    chunk_bytes = 64 * 128 * 128 * 3
    whole_stream = 1200 * 128 * 128 * 3  # what holding the 10-minute stream would cost
    assert growth[10] - growth[1] < 4 * chunk_bytes, (growth, chunk_bytes, whole_stream)
    assert growth[10] < whole_stream / 2
