"""Result tables: schemas, commits that hide a killed writer's files, nightly bookkeeping."""
from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.results import tables
from pipelines.results.tables import EVENTS_SCHEMA, VIDEOS_SCHEMA


def videos_table(rows: list[tuple[str, str, str]], run_id: str = "r1", version: str = "v1") -> pa.Table:
    """rows: (video_id, etag, status)."""
    return pa.Table.from_pylist([
        {"run_id": run_id, "video_id": v, "uri": f"/data/{v}", "etag": etag, "duration_s": 10.0,
         "frames": 20, "status": status, "error": "" if status == "ok" else "RuntimeError: bad",
         "seconds": 0.5, "model_version": version} for v, etag, status in rows], schema=VIDEOS_SCHEMA)


def events_table(video_id: str, run_id: str = "r1", version: str = "v1") -> pa.Table:
    return pa.Table.from_pylist([
        {"run_id": run_id, "video_id": video_id, "level": 0, "event_index": k, "start_s": 5.0 * k,
         "end_s": 5.0 * (k + 1), "parent_index": -1, "embedding": [1.0, float(k)], "model_version": version}
        for k in range(2)], schema=EVENTS_SCHEMA)


def test_commit_round_trip(tmp_path):
    out = str(tmp_path / "out")
    commit = tables.write_commit(out, {"videos": videos_table([("a.mp4", "e1", "ok")]),
                                        "events": events_table("a.mp4")}, {"run_id": "r1"})
    assert tables.committed_ids(out) == {commit}
    marker = json.loads((tmp_path / "out" / "_commits" / f"{commit}.json").read_text())
    assert marker["rows"] == {"videos": 1, "events": 2} and marker["run_id"] == "r1"
    events = tables.read_table(out, "events")
    assert events.schema.names == EVENTS_SCHEMA.names + ["commit"]
    assert events.column("commit").to_pylist() == [commit, commit]
    assert events.schema.field("embedding").type == pa.list_(pa.float32())


def test_files_without_a_marker_are_invisible(tmp_path):
    """A writer killed after its data files but before its marker leaves nothing readable."""
    out = str(tmp_path / "out")
    tables.write_commit(out, {"videos": videos_table([("a.mp4", "e1", "ok")])})
    orphan = tmp_path / "out" / "videos" / f"commit={tables.new_commit_id()}" / "data.parquet"
    orphan.parent.mkdir(parents=True)
    pq.write_table(videos_table([("b.mp4", "e1", "ok")]), orphan)
    assert tables.read_table(out, "videos").column("video_id").to_pylist() == ["a.mp4"]
    assert tables.orphans(out) == [str(orphan)]
    assert not [p for p in os.listdir(tmp_path / "out" / "_commits") if ".tmp-" in p]


def test_empty_output_reads_as_empty_tables(tmp_path):
    for name, schema in tables.SCHEMAS.items():
        table = tables.read_table(str(tmp_path / "nothing"), name)
        assert table.num_rows == 0 and table.schema.names == schema.names + ["commit"]
    assert tables.done_videos(str(tmp_path / "nothing"), "v1") == set()


def test_done_videos_follows_the_latest_result_per_etag_and_version(tmp_path):
    out = str(tmp_path / "out")
    tables.write_commit(out, {"videos": videos_table([("a", "e1", "ok"), ("b", "e1", "failed"),
                                                       ("c", "e1", "failed")])})
    tables.write_commit(out, {"videos": videos_table([("c", "e1", "ok")], run_id="r2")})
    tables.write_commit(out, {"videos": videos_table([("d", "e1", "ok")], version="v2")})
    assert tables.done_videos(out, "v1") == {("a", "e1"), ("c", "e1")}
    assert tables.done_videos(out, "v1", statuses=("ok", "failed")) == {("a", "e1"), ("b", "e1"), ("c", "e1")}
    assert tables.done_videos(out, "v2") == {("d", "e1")}


def test_outputs_from_before_a_new_column_still_read(tmp_path, monkeypatch):
    """A nightly run appends to an output whose older commits lack `changes`: they read as null."""
    before = pa.schema([f for f in VIDEOS_SCHEMA if f.name != "changes"])
    monkeypatch.setitem(tables.SCHEMAS, "videos", before)
    tables.write_commit(str(tmp_path), {"videos": videos_table([("a.mp4", "e1", "ok")]).select(before.names)})
    monkeypatch.setitem(tables.SCHEMAS, "videos", VIDEOS_SCHEMA)
    now = videos_table([("b.mp4", "e2", "ok")])
    now = now.set_column(now.schema.get_field_index("changes"), "changes", pa.array([[0.5]], pa.list_(pa.float32())))
    tables.write_commit(str(tmp_path), {"videos": now})
    table = tables.read_table(str(tmp_path), "videos").sort_by("video_id")
    assert table.column("changes").to_pylist() == [None, [0.5]]
    assert tables.done_videos(str(tmp_path), "v1") == {("a.mp4", "e1"), ("b.mp4", "e2")}


def test_runs_record_and_schema_checks(tmp_path):
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    record = tables.RunRecord("r1", "segment", now, now, "s3://m/model.pt", "v1", {"a": 1},
                               tables.Counts(ok=2, failed=1, skipped=3, events=40, frames=100))
    out = str(tmp_path / "out")
    tables.write_commit(out, {"runs": record.to_table()})
    row = tables.read_table(out, "runs").to_pylist()[0]
    assert row["counts"] == {"ok": 2, "failed": 1, "skipped": 3, "events": 40, "frames": 100}
    assert json.loads(row["config"]) == {"a": 1} and row["started_at"] == now
    with pytest.raises(ValueError, match="unknown table"):
        tables.write_commit(out, {"frames": record.to_table()})
    assert tables.new_run_id("segment").startswith("segment-")
    assert tables.new_commit_id() < tables.new_commit_id()


@pytest.mark.slow
def test_commits_on_s3(s3_server, s3_bucket):
    out, settings = f"{s3_bucket}/results", s3_server.settings()
    commit = tables.write_commit(out, {"videos": videos_table([("a.mp4", "e1", "ok")]),
                                        "events": events_table("a.mp4")}, settings=settings)
    # a killed writer's file on S3: present, but with no marker
    fs, root = tables.storage.filesystem(out, settings)
    pq.write_table(events_table("zzz.mp4"), f"{root}/events/commit={tables.new_commit_id()}/data.parquet",
                   filesystem=fs)
    assert tables.committed_ids(out, settings) == {commit}
    assert set(tables.read_table(out, "events", settings).column("video_id").to_pylist()) == {"a.mp4"}
    assert len(tables.orphans(out, settings)) == 1
    assert tables.done_videos(out, "v1", settings) == {("a.mp4", "e1")}
