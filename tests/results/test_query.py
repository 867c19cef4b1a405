"""The README's DuckDB examples on planted result tables with known answers, local and on S3."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from pipelines.cli import UnknownNameError, UserError
from pipelines.results import query, tables
from pipelines.results.cli import query_main
from pipelines.results.tables import EVENTS_SCHEMA, VIDEOS_SCHEMA

# video -> (duration, levels of (start, end) spans); embeddings below
PLANTED = {
    "kitchen/a.mp4": (20.0, [[(0, 5), (5, 10), (10, 20)], [(0, 10), (10, 20)]]),
    "yard/b.mp4": (10.0, [[(0, 4), (4, 10)], [(0, 10)]]),
}
# a's last fine event and b's second are alike; everything else points elsewhere
EMBEDDINGS = {("kitchen/a.mp4", 0, 2): [1, 0, 0, 0], ("yard/b.mp4", 0, 1): [0.9, 0.1, 0, 0]}


def _events(video_id: str, duration: float, levels, run_id: str) -> list[dict]:
    rows = []
    for level, spans in enumerate(levels):
        above = levels[level + 1] if level + 1 < len(levels) else None
        for k, (start, end) in enumerate(spans):
            parent = next(i for i, (s, e) in enumerate(above) if s <= start < e) if above else -1
            vector = EMBEDDINGS.get((video_id, level, k))
            if vector is None:  # one of the three other axes
                vector = [0.0] * 4
                vector[1 + (k + level) % 3] = 1.0
            rows.append({"run_id": run_id, "video_id": video_id, "level": level, "event_index": k,
                         "start_s": float(start), "end_s": float(end), "parent_index": parent,
                         "embedding": vector, "model_version": "v1"})
    return rows


def _video(video_id: str, duration: float, run_id: str, status: str = "ok") -> dict:
    return {"run_id": run_id, "video_id": video_id, "uri": f"s3://footage/{video_id}", "etag": "e1",
            "duration_s": duration, "frames": int(duration * 2), "status": status,
            "error": "" if status == "ok" else f"RuntimeError: s3://footage/{video_id}: cannot decode",
            "seconds": 0.1, "model_version": "v1"}


def plant(output: str, settings=None) -> None:
    """Run r1 segments a wrongly (one event), b, and fails on broken.mp4; run r2 redoes a."""
    first = [_video(v, d, "r1") for v, (d, _) in PLANTED.items()] + [_video("broken.mp4", 0.0, "r1", "failed")]
    wrong_a = _events("kitchen/a.mp4", 20.0, [[(0, 20)]], "r1")
    b = _events("yard/b.mp4", *PLANTED["yard/b.mp4"], "r1")
    tables.write_commit(output, {"videos": pa.Table.from_pylist(first, schema=VIDEOS_SCHEMA),
                                  "events": pa.Table.from_pylist(wrong_a + b, schema=EVENTS_SCHEMA)}, settings=settings)
    a = _events("kitchen/a.mp4", *PLANTED["kitchen/a.mp4"], "r2")
    changes = [0.0] * 39
    changes[9], changes[19] = 0.05, 0.2  # the samples at 5 s and 10 s
    redone = dict(_video("kitchen/a.mp4", 20.0, "r2"), changes=changes)
    tables.write_commit(output, {"videos": pa.Table.from_pylist([redone], schema=VIDEOS_SCHEMA),
                                  "events": pa.Table.from_pylist(a, schema=EVENTS_SCHEMA)}, settings=settings)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    output = str(tmp_path_factory.mktemp("results"))
    plant(output)
    return query.connect(output)


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(r.values()) for r in table.to_pylist()]


def test_views_keep_the_latest_result_per_video(con):
    assert query.run(con, "SELECT count(*) FROM videos_all").column(0)[0].as_py() == 4
    assert rows(query.run(con, "SELECT video_id, run_id FROM videos WHERE status = 'ok' ORDER BY 1")) == [
        ("kitchen/a.mp4", "r2"), ("yard/b.mp4", "r1")]
    assert query.run(con, "SELECT count(*) FROM events WHERE video_id = 'kitchen/a.mp4'").column(0)[0].as_py() == 5


def test_summary_and_failed(con):
    assert rows(query.example(con, "summary")) == [("v1", "failed", 1, 0.0, 0), ("v1", "ok", 2, 30.0, 60)]
    failed = query.example(con, "failed").to_pylist()
    assert [f["video_id"] for f in failed] == ["broken.mp4"] and "cannot decode" in failed[0]["error"]


def test_events_of_a_video_by_level(con):
    assert rows(query.example(con, "levels", video_id="kitchen/a.mp4")) == [
        (0, 3, 6.67, 5.0, 10.0), (1, 2, 10.0, 10.0, 10.0)]
    assert rows(query.example(con, "events", video_id="yard/b.mp4")) == [
        (0, 0, 0.0, 4.0, 0), (0, 1, 4.0, 10.0, 0), (1, 0, 0.0, 10.0, -1)]


def test_longest_and_at_time(con):
    assert rows(query.example(con, "longest", k=2)) == [
        ("kitchen/a.mp4", 0, 2, 10.0, 20.0, 10.0), ("kitchen/a.mp4", 1, 0, 0.0, 10.0, 10.0)]
    assert rows(query.example(con, "at_time", video_id="kitchen/a.mp4", t=12.5)) == [
        (0, 2, 10.0, 20.0), (1, 1, 10.0, 20.0)]
    assert rows(query.example(con, "at_time", video_id="kitchen/a.mp4", t=5.0))[0] == (0, 1, 5.0, 10.0)


def test_similar_events_start_with_the_event_itself(con):
    found = query.example(con, "similar", video_id="kitchen/a.mp4", level=0, event_index=2, k=3).to_pylist()
    assert [(f["video_id"], f["event_index"]) for f in found[:2]] == [("kitchen/a.mp4", 2), ("yard/b.mp4", 1)]
    assert found[0]["similarity"] == pytest.approx(1.0) and found[1]["similarity"] > 0.9 > found[2]["similarity"]


def test_hard_cuts_re_cut_at_another_threshold(con):
    assert rows(query.example(con, "hard_cuts", video_id="kitchen/a.mp4")) == [("v1", 5.0, 0.05), ("v1", 10.0, 0.2)]
    assert rows(query.example(con, "hard_cuts", video_id="kitchen/a.mp4", threshold=0.1)) == [("v1", 10.0, 0.2)]
    assert rows(query.example(con, "hard_cuts", video_id="yard/b.mp4")) == []  # kept no changes


def test_video_events_and_unknown_example(con):
    assert query.video_events(con, "kitchen/a.mp4").num_rows == 5
    assert query.video_events(con, "nope.mp4").num_rows == 0
    with pytest.raises(UnknownNameError, match="unknown example") as raised:
        query.example(con, "nope")
    assert isinstance(raised.value, KeyError)  # what library callers catch


def test_a_path_without_results_is_an_error_not_empty_tables(tmp_path):
    with pytest.raises(UserError, match="no results under"):
        query.connect(str(tmp_path / "nowhere"))
    (tmp_path / "events").mkdir()  # a folder, but nothing committed
    with pytest.raises(UserError, match="no results under"):
        query.connect(str(tmp_path))


def test_cli(tmp_path, capsys):
    main = query_main
    plant(str(tmp_path))
    assert main(["--output", str(tmp_path), "--example", "at_time", "--param", "video_id=yard/b.mp4",
                 "--param", "t=4", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["level"], r["event_index"]) for r in lines] == [(0, 1), (1, 0)]
    assert main(["--output", str(tmp_path), "SELECT count(*) AS n FROM events_all"]) == 0
    assert capsys.readouterr().out.split() == ["n", "9"]  # 1 + 3 of r1, 5 of r2
    assert main(["--output", str(tmp_path), "SELECT * FROM nowhere"]) == 2
    assert capsys.readouterr().err.startswith("error: Catalog Error")
    assert main(["--list"]) == 0 and "list_cosine_similarity" in capsys.readouterr().out


@pytest.mark.slow
def test_examples_on_s3(s3_server, s3_bucket):
    output, settings = f"{s3_bucket}/results", s3_server.settings()
    plant(output, settings)
    s3 = query.connect(output, settings)
    assert [r["video_id"] for r in query.example(s3, "failed").to_pylist()] == ["broken.mp4"]
    assert rows(query.example(s3, "at_time", video_id="yard/b.mp4", t=9.9)) == [(0, 1, 4.0, 10.0), (1, 0, 0.0, 10.0)]
