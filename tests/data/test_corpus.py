"""Listing folders and S3 prefixes into manifest rows; balancing whole videos over workers."""

from __future__ import annotations

import os

import pytest

from pipelines.data import storage
from pipelines.data.corpus import ManifestRow, balance, kind_of, list_corpus
from pipelines.data.storage import S3Settings
from pipelines.runtime.local_s3 import _free_ports

FILES = {"a.mp4": 30, "kitchen/b.MKV": 10, "kitchen/deep/c.webm": 20, "feat/x.npy": 5,
         "notes.txt": 3, "truth.csv": 4, "d.mov": 1, "e.avi": 2}


def _tree(root) -> None:
    for name, size in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)


def test_local_listing_is_recursive_sorted_and_stable(tmp_path):
    _tree(tmp_path)
    rows = list_corpus(str(tmp_path))
    assert [r.video_id for r in rows] == ["a.mp4", "d.mov", "e.avi", "feat/x.npy",
                                          "kitchen/b.MKV", "kitchen/deep/c.webm"]
    by_id = {r.video_id: r for r in rows}
    assert by_id["feat/x.npy"].kind == "features" and by_id["a.mp4"].kind == "video"
    assert by_id["kitchen/b.MKV"].uri == str(tmp_path / "kitchen" / "b.MKV")
    assert by_id["a.mp4"].size == 30
    stat = os.stat(tmp_path / "a.mp4")
    assert by_id["a.mp4"].etag == f"mtime:{stat.st_mtime_ns}:size:30"
    assert list_corpus(f"file://{tmp_path}/") == rows


def test_missing_folder_names_the_uri(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        list_corpus(str(tmp_path / "nowhere"))


def test_unreachable_endpoint_names_the_uri():
    (port,) = _free_ports(1)
    settings = S3Settings(endpoint_url=f"http://127.0.0.1:{port}", access_key="a",
                          secret_key="b", retry_s=0, connect_timeout_s=1)
    with pytest.raises(ConnectionError, match="s3://videos/x"):
        list_corpus("s3://videos/x", settings)


def test_manifest_row_round_trips_through_dicts():
    row = ManifestRow(video_id="a/b.mp4", uri="s3://bk/a/b.mp4", size=3, etag="e", kind="video")
    assert ManifestRow.coerce(row.to_dict()) == row
    assert kind_of("X.Mp4") == "video" and kind_of("f.npy") == "features"
    assert kind_of("truth.csv") is None


def test_balance_keeps_videos_whole_and_loads_even():
    rows = [ManifestRow(video_id=f"v{i}", uri=f"/v{i}", size=size, etag="", kind="video")
            for i, size in enumerate([100, 90, 50, 40, 30, 20, 10, 10])]
    parts = balance(rows, 3)
    assert sorted(r.video_id for p in parts for r in p) == sorted(r.video_id for r in rows)
    loads = sorted(sum(r.size for r in p) for p in parts)
    assert loads == [110, 120, 120]
    assert parts == balance(list(reversed(rows)), 3)
    by_duration = balance(rows, 2, weight=lambda r: 1.0)
    assert [len(p) for p in by_duration] == [4, 4]
    assert balance(rows[:1], 3)[1:] == [[], []]
    with pytest.raises(ValueError):
        balance(rows, 0)


@pytest.mark.slow
def test_s3_listing_matches_the_folder(tmp_path, s3_server, s3_bucket):
    _tree(tmp_path)
    settings = s3_server.settings()
    prefix = storage.join(s3_bucket, "corpus")
    storage.upload_dir(tmp_path, prefix, settings)
    storage.upload_dir(tmp_path, storage.join(s3_bucket, "corpus2"), settings)  # a near name
    local, remote = list_corpus(str(tmp_path)), list_corpus(prefix + "/", settings)
    assert [(r.video_id, r.size, r.kind) for r in remote] == \
        [(r.video_id, r.size, r.kind) for r in local]
    assert remote[0].uri == f"{prefix}/a.mp4" and len(remote[0].etag) == 32
    assert list_corpus(prefix, settings) == remote
    whole = list_corpus(s3_bucket, settings)
    assert {r.video_id for r in whole} >= {"corpus/a.mp4", "corpus2/a.mp4"}


@pytest.mark.slow
def test_missing_bucket_names_the_uri(s3_server):
    with pytest.raises(FileNotFoundError, match="s3://no-such-bucket/videos"):
        list_corpus("s3://no-such-bucket/videos", s3_server.settings())


@pytest.mark.slow
def test_wrong_credentials_are_refused(s3_server, s3_bucket):
    settings = S3Settings(endpoint_url=s3_server.endpoint_url, access_key="nobody",
                          secret_key="wrong")
    with pytest.raises(PermissionError, match=s3_bucket):
        list_corpus(s3_bucket, settings)
