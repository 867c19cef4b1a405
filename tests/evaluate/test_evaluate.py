"""The harness: events tables to the method x level x metric table, files, warnings, MLflow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.cli import UnknownNameError, UserError
from pipelines.data import storage
from pipelines.evaluate import scoring
from pipelines.evaluate.baselines import events_table
from pipelines.evaluate.job import EvalConfig, evaluate
from pipelines.evaluate.truth import match_ids, read_truth
from pipelines.results import levels, tables
from pipelines.results.timelines import draw_timeline
from pipelines.sample.corpus import CorpusOptions, write_corpus
from pipelines.sample.render import render
from streamer_core.hierarchy import Hierarchy
from streamer_core.metrics import SpanError

ROOT = Path(__file__).resolve().parents[2]
TRUTH = """video_id,level,start_s,end_s,label
a.mp4,0,0,4,cut
a.mp4,0,4,10,stir
a.mp4,1,0,10,cook
b.mp4,0,0,3,wash
b.mp4,0,3,6,dry
b.mp4,1,0,6,clean
ghost.mp4,0,0,5,nothing
"""


def events(video: str, duration: float, boundaries: list[list[float]], version: str = "streamer:test",
           run: str = "run-1") -> list[dict]:
    rows = Hierarchy.from_boundaries(video, duration, boundaries, []).to_rows()
    return [{"run_id": run, **r, "model_version": version} for r in rows]


def test_methods_keep_runs_apart_and_bad_events_are_named():
    table = events_table(events("a.mp4", 10, [[4]]) + events("a.mp4", 10, [[5]], run="run-2")
                         + events("a.mp4", 10, [[2], []], version="baseline:uniform"))
    predicted = levels.predicted_levels(table)
    assert sorted(predicted) == ["baseline:uniform", "streamer:test@run-1", "streamer:test@run-2"]
    assert [len(level.spans) for level in predicted["baseline:uniform"]["a.mp4"]] == [2, 1]
    bad = events("a.mp4", 10, [[4]])
    bad[1]["start_s"] = 3.0
    with pytest.raises(SpanError, match="streamer:test: video 'a.mp4' level 0.*overlaps"):
        levels.predicted_levels(events_table(bad))


def test_summary_means_over_videos_with_best_and_overall_rows():
    rows = [("m", v, p, t, mof) for v, p, t, mof in [("a", "0", "0", 0.2), ("b", "0", "0", 0.4), ("a", "1", "0", 0.8),
                                                     ("b", "1", "0", 0.6), ("a", "0", "1", 0.5), ("b", "0", "1", 0.7)]]
    per_video = pd.DataFrame(rows, columns=["method", "video_id", "pred_level", "truth_level", "mof"])
    for col in scoring.ScoreSettings().metrics[1:] + ["pred_events", "truth_segments"]:
        per_video[col] = float("nan")
    table = scoring.summarize(per_video).set_index(["pred_level", "truth_level"])["mof"]
    assert table[("0", "0")] == pytest.approx(0.3) and table[("1", "0")] == pytest.approx(0.7)
    assert table[("best", "0")] == pytest.approx(0.7) and table[("best", "1")] == pytest.approx(0.6)
    assert table[("best", "all")] == pytest.approx(0.65)


def test_read_events_names_what_is_wrong(tmp_path):
    pq.write_table(pa.table({"video_id": ["a"]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="missing run_id"):
        levels.read_events(str(tmp_path / "x.parquet"))
    with pytest.raises(FileNotFoundError, match="no events table"):
        levels.read_events(str(tmp_path / "absent"))


def test_evaluate_scores_results_and_uniform_with_named_warnings(tmp_path):
    (tmp_path / "truth.csv").write_text(TRUTH)
    results = tmp_path / "events"
    results.mkdir()
    perfect = events("a.mp4", 10, [[4], []]) + events("b.mp4", 7.5, [[3, 6], []])  # b: 1.5 s too long
    pq.write_table(events_table(perfect), results / "part-0.parquet")
    out = tmp_path / "out"
    result = evaluate(EvalConfig(truth=str(tmp_path / "truth.csv"), results=str(results),
                                 baselines=("uniform",), out=str(out), log_mlflow=False))
    summary = result.summary.set_index(["method", "pred_level", "truth_level"])
    for level in ("0", "1"):
        assert summary.loc[("streamer:test", "best", level), ["mof", "iou", "f1_1s"]].tolist() == [1.0, 1.0, 1.0]
        assert summary.loc[("streamer:test", "tree", level), ["hlr_miou", "hlr_mof"]].tolist() == [1.0, 1.0]
    uniform = result.per_video.query("method == 'baseline:uniform' and pred_level == '0' and truth_level == '0'")
    assert dict(zip(uniform.video_id, uniform.f1_5pct)) == {"a.mp4": 0.0, "b.mp4": 1.0, "ghost.mp4": 1.0}
    notes = "\n".join(result.warnings)
    assert "UnknownVideoWarning" in notes and "ghost.mp4" in notes
    assert "DurationMismatchWarning: video 'b.mp4': prediction lasts 7.500 s" in notes
    assert (out / "warnings.txt").read_text().strip() == notes
    for name in ("summary.csv", "summary.parquet", "per_video.csv", "baseline_events/part-0.parquet",
                 "timelines/a.mp4.png", "timelines/b.mp4.png"):
        assert (out / name).is_file(), name
    assert pd.read_parquet(out / "summary.parquet").equals(result.summary)
    leads = pd.read_csv(out / "margins.csv", dtype={"truth_level": str}).set_index("truth_level")
    assert list(zip(leads.index, leads["metric"])) == [("0", "f1_0.5s"), ("0", "f1_1s"), ("1", "f1_0.5s"),
                                                      ("1", "f1_1s")]  # a row per F1 tolerance
    assert set(leads["baseline"]) == {"baseline:uniform"}
    assert set(leads["videos"]) == {2}  # ghost.mp4 has no events of the run: no pair


def test_evaluate_needs_something_to_score(tmp_path):
    (tmp_path / "truth.csv").write_text(TRUTH)
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(EvalConfig(truth=str(tmp_path / "truth.csv"), out=str(tmp_path), log_mlflow=False))
    with pytest.raises(UnknownNameError, match="unknown baseline"):
        evaluate(EvalConfig(truth=str(tmp_path / "truth.csv"), baselines=("lstm",), out=str(tmp_path),
                            log_mlflow=False))


def test_boundary_columns_are_named_by_their_tolerance():
    assert [scoring.f1_column(t) for t in (0.5, 1.0, 2, 0.25)] == ["f1_0.5s", "f1_1s", "f1_2s", "f1_0.25s"]
    settings = scoring.ScoreSettings(tolerances_s=(2.0,))
    assert settings.metrics == ["mof", "iou", "f1_2s", "f1_5pct", "hlr_miou", "hlr_mof"]
    truth = levels.predicted_levels(events_table(events("a.mp4", 10, [[4]])))["streamer:test"]["a.mp4"]
    late = levels.predicted_levels(events_table(events("a.mp4", 10, [[5.5]])))["streamer:test"]["a.mp4"]
    per_video = scoring.score_all({"a.mp4": {0: truth[0]}}, {"m": {"a.mp4": late}}, ["a.mp4"], settings)
    assert per_video.loc[0, "f1_2s"] == 1.0 and "f1_1s" not in per_video  # 1.5 s off: a hit only at 2 s
    default = scoring.score_all({"a.mp4": {0: truth[0]}}, {"m": {"a.mp4": late}}, ["a.mp4"])
    assert default.loc[0, ["f1_0.5s", "f1_1s"]].tolist() == [0.0, 0.0]
    assert "f1_2s" in scoring.format_table(scoring.summarize(per_video))
    with pytest.raises(ValueError, match="distinct"):
        scoring.ScoreSettings(tolerances_s=(1.0, 1))


def test_truth_ids_match_video_ids_with_or_without_extension():
    assert match_ids(["clip_000", "b.mp4", "k/c", "same"], ["clip_000.mp4", "b", "k/c.mp4", "same.mp4", "same.avi"]) \
        == {"clip_000": "clip_000.mp4", "b.mp4": "b", "k/c": "k/c.mp4"}  # "same" is ambiguous
    assert match_ids(["a", "a.mp4"], ["a.mp4"]) == {}  # a.mp4 is a truth id already
    assert match_ids(["a", "a.avi"], ["a.mp4"]) == {}  # two truth ids claim a.mp4


def _segmented_root(output: Path) -> None:
    """An output root as the segment job writes it: a wrong first result for a.mp4, then the redo."""
    videos = [{"run_id": "r1", "video_id": v, "uri": f"/footage/{v}", "etag": "e", "duration_s": d, "frames": 20,
               "status": "ok", "error": "", "seconds": 0.1, "model_version": "streamer:v1"}
              for v, d in (("a.mp4", 10.0), ("b.mp4", 6.0))]
    wrong = events("a.mp4", 10, [[1], []], "streamer:v1", "r1") + events("b.mp4", 6, [[3], []], "streamer:v1", "r1")
    tables.write_commit(str(output), {"videos": pa.Table.from_pylist(videos, schema=tables.VIDEOS_SCHEMA),
                                      "events": events_table(wrong)})
    redo = dict(videos[0], run_id="r2")
    tables.write_commit(str(output), {"videos": pa.Table.from_pylist([redo], schema=tables.VIDEOS_SCHEMA),
                                      "events": events_table(events("a.mp4", 10, [[4], []], "streamer:v1", "r2"))})


def test_job_scores_an_output_root_against_truth_ids_without_extensions(tmp_path):
    _segmented_root(tmp_path / "results")
    (tmp_path / "truth.csv").write_text(TRUTH.replace(".mp4", ""))
    done = subprocess.run([sys.executable, "jobs/evaluate.py", "--results", str(tmp_path / "results"),
                           "--truth", str(tmp_path / "truth.csv"), "--out", str(tmp_path / "out"), "--no-mlflow",
                           "--tolerance", "2", "--baselines", "uniform"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.csv").set_index(["method", "pred_level", "truth_level"])
    best = summary.loc[("streamer:v1", "best", "0")]  # one method for both runs; a.mp4 from its redo
    assert (best["videos"], best["mof"], best["f1_2s"]) == (2, 1.0, 1.0) and "f1_1s" not in summary
    assert "streamer:v1" in done.stdout and "ghost" in (tmp_path / "out" / "warnings.txt").read_text()
    leads = pd.read_csv(tmp_path / "out" / "margins.csv")
    assert set(leads["metric"]) == {"f1_2s"} and set(leads["method"]) == {"streamer:v1"}  # the tolerances asked
    assert "margins over the baselines" in done.stdout


def test_results_that_match_no_truth_video_are_an_error(tmp_path):
    _segmented_root(tmp_path / "results")
    (tmp_path / "truth.csv").write_text(TRUTH.replace("a.mp4", "x.mp4").replace("b.mp4", "y.mp4"))
    with pytest.raises(UserError, match="no video of the truth is in the results.*streamer:v1"):
        evaluate(EvalConfig(truth=str(tmp_path / "truth.csv"), results=str(tmp_path / "results"),
                            baselines=("uniform",), out=str(tmp_path / "out"), log_mlflow=False))


@pytest.mark.slow
def test_job_runs_every_baseline_and_logs_to_mlflow(tmp_path):
    import mlflow

    corpus = tmp_path / "corpus"
    write_corpus(corpus, CorpusOptions(videos=2, seed=0, min_duration_s=24, max_duration_s=30, size=64))
    db = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "jobs" / "evaluate.py"), "--truth", str(corpus / "truth.csv"),
         "--baselines", "uniform,grid,scenedetect,twfinch,abd,pelt,kernel", "--out", str(tmp_path / "out"),
         "--tracking-uri", db, "--experiment", "test-evaluate"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "baseline:scenedetect" in done.stdout and "hlr_miou" in done.stdout
    client = mlflow.MlflowClient(db)
    experiment = client.get_experiment_by_name("test-evaluate")
    assert experiment.artifact_location.startswith("file://")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["baselines"] == "uniform,grid,scenedetect,twfinch,abd,pelt,kernel"
    assert run.data.metrics["baseline:scenedetect/truth1/pred0/f1_1s".replace(":", "_")] == 1.0
    assert "baseline_scenedetect/truth1/pred0/f1_0.5s" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"summary.csv", "per_video.csv", "timelines", "warnings.txt"} <= artifacts


@pytest.mark.slow
def test_results_are_read_from_s3(s3_server, s3_bucket, monkeypatch, tmp_path):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    local = tmp_path / "part-0.parquet"
    pq.write_table(events_table(events("a.mp4", 10, [[4], []])), local)
    storage.upload_dir(tmp_path, f"{s3_bucket}/events")
    (tmp_path / "truth.csv").write_text(TRUTH)
    table = levels.read_events(f"{s3_bucket}/events")
    assert table.num_rows == 3 and set(table.column("video_id").to_pylist()) == {"a.mp4"}


def test_timelines_show_the_videos_frames_when_its_files_are_beside_the_truth(tmp_path):
    spec, = write_corpus(tmp_path / "corpus", CorpusOptions(videos=1, seed=3, min_duration_s=12, max_duration_s=12,
                                                            size=64, fps=(10.0,), style="flat"))
    out = tmp_path / "out"
    evaluate(EvalConfig(truth=str(tmp_path / "corpus" / "truth.csv"), baselines=("uniform",), out=str(out),
                        log_mlflow=False))  # uniform needs no video files: they are found for the timeline
    with_frames = np.asarray(Image.open(out / "timelines" / f"{spec.video_id.replace('/', '_')}.png").convert("RGB"))
    truth = read_truth(str(tmp_path / "corpus" / "truth.csv")).videos[spec.video_id]
    without = np.asarray(Image.open(draw_timeline(spec.video_id, truth, {"baseline:uniform": list(truth.values())},
                                                  tmp_path / "without.png")).convert("RGB"))
    assert with_frames.shape[0] > without.shape[0] and with_frames.shape[1] == without.shape[1]
    tint = np.array(render(spec, spec.duration_s / 2)[0, 0], int)  # the flat background's colour
    strip = with_frames[: with_frames.shape[0] - without.shape[0]].reshape(-1, 3).astype(int)
    assert (np.abs(strip - tint).max(1) <= 12).mean() > 0.05, "the video's background is not in the strip"
