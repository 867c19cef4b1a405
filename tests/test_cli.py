"""Every job's command line follows one convention: a user's mistake is one stderr line starting
with `error:` and exit status 2, never a traceback, and it is caught before Ray or the S3 store
start (so these run in seconds). Run as `ray job submit` runs them: `python jobs/X.py` from the root."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import torch

from pipelines import cli, demo
from pipelines.evaluate import cli as evaluate_cli
from pipelines.evaluate import datasets
from pipelines.results import cli as results_cli
from pipelines.results import tables
from pipelines.segment import cli as segment_cli
from pipelines.segment import file_cli
from pipelines.train import cli as train_cli
from streamer_core import ConfigError, StreamerModel, load_config

ROOT = Path(__file__).resolve().parents[1]
TRUTH = "video_id,level,start_s,end_s,label\na,0,0,4,cut\na,0,4,10,stir\n"


def run_job(name: str, *args: str, state: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "MLFLOW_TRACKING_URI")}
    env["STREAMER_STATE_DIR"] = str(state)  # whatever a job wrongly started would leave its state here
    return subprocess.run([sys.executable, f"jobs/{name}.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)


def assert_user_error(status: int, stderr: str, message: str) -> None:
    lines = stderr.splitlines()
    assert status == 2 and "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert re.search(message, lines[0]), lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """A tiny checkpoint, one committed result (video a.mp4), truth files good and bad."""
    folder = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    StreamerModel(load_config("tiny").model).save(folder / "model.pt")
    events = [{"run_id": "r", "video_id": "a.mp4", "level": 0, "event_index": 0, "start_s": 0.0, "end_s": 10.0,
               "parent_index": -1, "embedding": [0.0], "model_version": "v"}]
    videos = [{"run_id": "r", "video_id": "a.mp4", "uri": "a.mp4", "etag": "e", "duration_s": 10.0, "frames": 20,
               "status": "ok", "error": "", "seconds": 0.1, "model_version": "v"}]
    tables.write_commit(str(folder / "results"), {"events": pa.Table.from_pylist(events, schema=tables.EVENTS_SCHEMA),
                                                  "videos": pa.Table.from_pylist(videos, schema=tables.VIDEOS_SCHEMA)})
    (folder / "truth.csv").write_text(TRUTH)
    (folder / "other.csv").write_text(TRUTH.replace("a,", "zzz,"))
    (folder / "bad_header.csv").write_text("video,start,end\na,0,4\n")
    (folder / "bad_span.csv").write_text(TRUTH + "a,0,9,3,back\n")
    names = ("model.pt", "results", "truth.csv", "other.csv", "bad_header.csv", "bad_span.csv")
    return {name.split(".")[0]: str(folder / name) for name in names} | {"dir": str(folder)}


EVAL = ["--no-mlflow", "--out", "{dir}/evaluated"]
CASES = {  # job -> (arguments with {file} placeholders, what the one error line says)
    "train bad value": ("train", ["--set", "train.workers=0"], r"train\.workers: value 0 is out of range"),
    "train missing input": ("train", ["--input", "{dir}/nowhere"], r"corpus folder not found"),
    "segment bad value": ("segment", ["--checkpoint", "{model}", "--input", "{dir}", "--output", "{dir}/out",
                                      "--actors", "0"], r"inference\.actors: value 0 is out of range"),
    "segment missing input": ("segment", ["--checkpoint", "{model}", "--input", "{dir}/nowhere", "--output",
                                          "{dir}/out"], r"corpus folder not found"),
    "query bad value": ("query", ["--output", "{results}", "--example", "at_time", "--param", "t=noon"],
                        r"expected a float"),
    "query missing input": ("query", ["--output", "{dir}/nowhere/out", "--example", "levels"], r"no results under"),
    "plot missing input": ("plot", ["--output", "{dir}/nowhere", "--video", "a.mp4"], r"no results under"),
    "evaluate bad value": ("evaluate", ["--truth", "{truth}", "--baselines", "uniform,lstm", *EVAL],
                           r"unknown baseline\(s\) lstm; known: uniform"),
    "evaluate missing input": ("evaluate", ["--truth", "{truth}", "--results", "{dir}/nowhere", *EVAL],
                               r"no events table at"),
    "evaluate bad truth": ("evaluate", ["--truth", "{bad_header}", "--results", "{results}", *EVAL],
                           r"header .* is neither"),
    "demo bad value": ("demo", ["--set", "train.workers=0"], r"train\.workers: value 0 is out of range"),
    "demo missing input": ("demo", ["--config", "{dir}/none.yaml"], r"No such file or directory: .*none\.yaml"),
    "segment_file missing checkpoint": ("segment_file", ["--checkpoint", "{dir}/none.pt", "{truth}"],
                                        r"checkpoint not found: .*none\.pt"),
    "export missing input": ("export", ["--output", "{dir}/nowhere", "--all", "--format", "csv", "--dest", "{dir}/x"],
                             r"no results under"),
    "report missing input": ("report", ["--output", "{dir}/nowhere", "--all", "--dest", "{dir}/x"],
                             r"no results under"),
}
MAINS = {"train": train_cli.main, "segment": segment_cli.main, "query": results_cli.query_main,
         "plot": results_cli.plot_main, "evaluate": evaluate_cli.main, "demo": demo.main,
         "segment_file": file_cli.main, "export": results_cli.export_main, "report": results_cli.report_main}
MORE_CASES = {  # the same, in this process
    "train bad type": ("train", ["--workers", "two"], r"--workers: invalid int value"),
    "segment input alone": ("segment", ["--input", "{dir}"], r"--input needs --checkpoint and --output"),
    "segment missing checkpoint": ("segment", ["--checkpoint", "{dir}/none.pt", "--input", "{dir}", "--output",
                                               "{dir}/out"], r"checkpoint not found"),
    "segment a trained option": ("segment", ["--checkpoint", "{model}", "--input", "{dir}", "--output", "{dir}/out",
                                             "--set", "model.embed_dim=8"],
                                 r"model\.embed_dim: a trained model keeps its checkpoint's model options; at "
                                 r"segmentation only model\.refine, "),
    "segment_file a job option": ("segment_file", ["--checkpoint", "{model}", "{truth}", "--set", "inference.actors=2"],
                                  r"--set inference\.actors=2: only model options that place events may change"),
    "plot unknown video": ("plot", ["--output", "{results}", "--video", "b.mp4"], r"no events for video 'b\.mp4'"),
    "evaluate missing truth": ("evaluate", ["--truth", "{dir}/none.csv", "--results", "{results}", *EVAL],
                               r"cannot read truth"),
    "segment_file needs --out": ("segment_file", ["--checkpoint", "{model}", "{truth}", "--format", "vtt"],
                                 r"--format vtt writes files: give --out"),
    "export unknown video": ("export", ["--output", "{results}", "--video", "b.mp4", "--format", "json", "--dest",
                                        "{dir}/x"], r"^error: b\.mp4: no result for video 'b\.mp4'"),
    "export media gone": ("export", ["--output", "{results}", "--video", "a.mp4", "--format", "vtt", "--dest",
                                     "{dir}/x"], r"^error: a\.mp4: cannot read media a\.mp4"),
    "report media without one video": ("report", ["--output", "{results}", "--all", "--media", "a.mp4", "--dest",
                                                  "{dir}/x"], r"--media goes with exactly one --video"),
    "evaluate no matching video": ("evaluate", ["--truth", "{other}", "--results", "{results}", *EVAL],
                                   r"no video of the truth is in the results"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_user_error_is_one_line_and_status_2(case, files, tmp_path):
    job, args, message = CASES[case]
    done = run_job(job, *[a.format(**files) for a in args], state=tmp_path / "state")
    assert_user_error(done.returncode, done.stderr, message)
    assert not (tmp_path / "state" / "s3").exists()  # the local store was not started


@pytest.mark.parametrize("case", MORE_CASES)
def test_more_user_errors(case, files, capsys):
    job, args, message = MORE_CASES[case]
    status = MAINS[job]([a.format(**files) for a in args])
    assert_user_error(status, capsys.readouterr().err, message)


@pytest.mark.parametrize("main", MAINS.values(), ids=MAINS)
def test_usage_errors_are_one_line_too(main, capsys):
    assert main(["--no-such-option"]) == 2  # unrecognized, or a required option missing
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: (unrecognized arguments|the following arguments are required).*--help\)\n", err)


@pytest.mark.parametrize("parser", [train_cli.parser, segment_cli.parser, results_cli.query_parser,
                                    results_cli.plot_parser, evaluate_cli.parser, demo.parser, file_cli.parser,
                                    results_cli.export_parser, results_cli.report_parser])
def test_every_option_has_help_and_shows_its_default(parser):
    p = parser()
    assert all(action.help for action in p._actions), [a.dest for a in p._actions if not a.help]
    if any(a.dest == "preset" for a in p._actions):
        text = re.sub(r"-\s+", "-", " ".join(p.format_help().split()))  # argparse wraps after hyphens
        assert re.search(r"--preset .*\(default: [\w-]+\)", text)
        assert "--tracking-uri" in p.format_help()


def test_bad_truth_rows_name_the_record(files, tmp_path, capsys):
    assert evaluate_cli.main(["--truth", files["bad_span"], "--results", files["results"], "--no-mlflow",
                              "--out", str(tmp_path)]) == 2
    assert re.fullmatch(r"error: .*bad_span\.csv record 3 \(video 'a'\): bad span \[9\.0, 3\.0\).*\n",
                        capsys.readouterr().err)


def test_anything_else_keeps_its_traceback():
    def broken(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        cli.command(broken)([])


def test_segment_shortcuts_are_inference_overrides():
    args = segment_cli.parser().parse_args(["--checkpoint", "m", "--input", "i", "--output", "o", "--actors", "3",
                                            "--set", "inference.batch_videos=2", "--set", "inference.actors=5"])
    cfg = load_config(args.preset, args.config, segment_cli.overrides(args))
    assert (cfg.inference.actors, cfg.inference.batch_videos) == (3, 2)  # the flag, after --set


def test_ray_progress_bars_are_off_unless_verbose():
    from ray.data import DataContext

    assert cli.parse(demo.parser(), ["-v"]).verbose and DataContext.get_current().enable_progress_bars
    assert not cli.parse(demo.parser(), []).verbose and not DataContext.get_current().enable_progress_bars


def test_training_and_the_demo_default_to_the_recommended_tiny_preset():
    assert train_cli.parser().parse_args([]).preset == demo.parser().parse_args([]).preset == "tiny-default"


@pytest.mark.parametrize("script, args, message", [
    ("quality", ["--corpora", "mocap,nope"], r"--corpora: no corpus nope; known: tune, test, all, sample-511"),
    ("footage", ["--test", "mocap"], r"--test: mocap is not a test video corpus"),
    ("periods_bound", ["--corpora", "motions"], r"not a period corpus: motions"),
])
def test_the_quality_benchmarks_name_a_bad_corpus_in_one_line(script, args, message, tmp_path):
    env = {**os.environ, "STREAMER_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, f"benchmarks/{script}.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert_user_error(done.returncode, done.stderr, message)
    assert not any(tmp_path.iterdir())  # refused before any corpus was written


def test_a_quality_corpus_whose_package_is_missing_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import quality

    def write(folder):
        raise ImportError("No module named 'tsseg'")

    monkeypatch.setitem(quality.CORPORA, "needs-tsseg", quality.Corpus("test", write, {0: ("activities", 0)}))
    monkeypatch.setenv("STREAMER_STATE_DIR", str(tmp_path))
    assert quality.main(["--corpora", "needs-tsseg"]) == 2
    assert_user_error(2, capsys.readouterr().err, r"corpus needs-tsseg: No module named 'tsseg' \(bash scripts/setup")


def test_a_quality_corpus_is_written_again_when_the_code_that_writes_corpora_changes(tmp_path, monkeypatch):
    """benchmarks/quality.py reads a corpus from the state folder while the code that wrote it is unchanged,
    and writes it afresh (nothing of the old one left) once that code has changed; a copy read at a few
    levels follows its corpus."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import quality

    written = []

    def write(folder):
        folder.mkdir(parents=True)
        np.save(folder / "stream.npy", np.arange(4 + 2 * len(written), dtype=np.float32)[:, None])
        (folder / quality.TRUTH_FILE).write_text("truth")
        written.append(folder)

    monkeypatch.setitem(quality.CORPORA, "counted", quality.Corpus("tune", write, {0: ("activities", 0)}, "features"))
    monkeypatch.setenv("STREAMER_STATE_DIR", str(tmp_path))
    folder = quality.corpus_folder("counted")
    (folder / "left-over").write_text("from an earlier writer")
    assert quality.corpus_folder("counted") == folder and len(written) == 1
    assert np.load(quality.read_at_levels(folder, 2) / "stream.npy").shape == (4, 1)
    monkeypatch.setattr(quality, "writers_stamp", lambda: "changed")
    assert quality.corpus_folder("counted") == folder and len(written) == 2
    assert not (folder / "left-over").exists()
    assert (folder / quality.STAMP_FILE).read_text() == "changed"
    assert np.load(quality.read_at_levels(folder, 2) / "stream.npy").shape == (6, 1)  # the second writing's rows


def test_a_learned_model_placed_again_cuts_as_one_learned_with_that_placement(tmp_path, monkeypatch):
    """benchmarks/quality.py --place: the first preset's learned model, placed again with a placement option,
    cuts where the same preset learned with that option set does (a placement option changes nothing
    learned), and not where it cut before; an option a trained model keeps is one error line."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import quality

    two = partial(datasets.write_basic_motions, streams=2)
    corpus = quality.Corpus("tune", two, {0: ("activities", 0)}, "features")
    monkeypatch.setitem(quality.CORPORA, "two-motions", corpus)
    monkeypatch.setenv("STREAMER_STATE_DIR", str(tmp_path))
    loaded = quality.load("two-motions")
    placed, _ = quality.streamer_boundaries(loaded, "tiny-default", [], 0, 1,
                                            quality.placements_of(["finer:model.refine=0.05"]))
    learned_with, _ = quality.streamer_boundaries(loaded, "tiny-default", ["model.refine=0.05"], 0, 1)
    assert placed["finer"] == learned_with[None] != placed[None]
    with pytest.raises(ConfigError, match=r"model\.min_event: a trained model keeps"):
        quality.placements_of(["x:model.min_event=2"])


def test_the_learning_curve_says_how_far_each_point_moved_over_the_videos(monkeypatch):
    """benchmarks/footage.py's table: per point, the mean and spread over the seeds, and the change since
    the first point with its interval over the test videos, each video's mean over the seeds paired."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import footage

    def point(minutes, videos):
        return {"minutes_learned": minutes,
                "levels": {"actions": {"f1_0.5s": sum(videos) / 2, "f1_1s": 0.9, "f1_0.5s_videos": videos}}}

    points = [point(0.0, [0.5, 0.6]), point(2.3, [0.7, 0.6]),  # seed 0
              point(0.0, [0.5, 0.6]), point(2.3, [0.7, 0.8])]  # seed 1
    assert footage.table(points).split("\n") == [
        "| minutes learned | actions F1@0.5s | actions F1@1s | actions since 0 min (95 %) |",
        "|---|---|---|---|",
        "| 0.0 | 0.55 ±0.00 | 0.90 | +0.00 (+0.00 to +0.00) |",
        "| 2.3 | 0.70 ±0.05 | 0.90 | +0.15 (+0.10 to +0.20) |"]  # per video +0.2 and +0.1


def test_the_quality_benchmark_prints_the_readmes_three_tables(monkeypatch):
    """benchmarks/quality.py's tables: a row per corpus and truth level, the presets' columns first, a
    baseline told the true counts starred, the row's best F1 at 0.5 s in bold, `-` where a method did
    not run; then the true segments, and each method's MoF and events; then the first preset's margin
    over the best baseline that is no ablation, with its interval over the videos, paired."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import quality

    def cells(f1, sd=None, videos=None):
        spread = {} if sd is None else {"f1_0.5s_sd": sd}
        return {"f1_0.5s": f1, **spread, "f1_0.5s_videos": videos or [f1, f1], "f1_1s": f1 + 0.1, "mof": 0.5,
                "events": 4.0, "truth_segments": 3.0}

    rows = [{"corpus": "a", "method": "baseline:uniform", "levels": {"actions": cells(0.2), "shots": cells(0.9)}},
            {"corpus": "a", "method": "baseline:scenedetect",
             "levels": {"actions": cells(0.3, videos=[0.2, 0.4]), "shots": cells(0.5)}},
            {"corpus": "a", "method": "tiny-default",
             "levels": {"actions": cells(0.8, 0.02, [0.9, 0.7]), "shots": cells(0.6, 0)}},
            {"corpus": "b", "method": "baseline:uniform", "levels": {"activities": cells(0.4)}},
            {"corpus": "b", "method": "baseline:kernel-cues", "levels": {"activities": cells(0.75)}},
            {"corpus": "b", "method": "tiny-default", "levels": {"activities": cells(0.7, 0.01)}}]
    assert quality.markdown(rows).split("\n") == [
        "| corpus: truth level | tiny-default | uniform* | scenedetect | kernel-cues |",
        "| --- | --- | --- | --- | --- |",
        "| a: actions | **0.80 ±0.02** / 0.90 | 0.20 / 0.30 | 0.30 / 0.40 | - |",
        "| a: shots | 0.60 ±0.00 / 0.70 | **0.90** / 1.00 | 0.50 / 0.60 | - |",
        "| b: activities | 0.70 ±0.01 / 0.80 | 0.40 / 0.50 | - | **0.75** / 0.85 |",
        "",
        "| corpus: truth level | true segments / video | tiny-default | uniform* | scenedetect | kernel-cues |",
        "| --- | --- | --- | --- | --- | --- |",
        "| a: actions | 3.0 | 0.50, 4.0 | 0.50, 4.0 | 0.50, 4.0 | - |",
        "| a: shots | 3.0 | 0.50, 4.0 | 0.50, 4.0 | 0.50, 4.0 | - |",
        "| b: activities | 3.0 | 0.50, 4.0 | 0.50, 4.0 | - | 0.50, 4.0 |",
        "",
        "| corpus: truth level | tiny-default | best baseline | margin | 95 % interval | videos |",
        "| --- | --- | --- | --- | --- | --- |",
        "| a: actions | 0.80 | scenedetect 0.30 | +0.50 | +0.30 to +0.70 | 2 |",  # differences 0.7 and 0.3
        "| a: shots | 0.60 | uniform* 0.90 | -0.30 | -0.30 to -0.30 | 2 |",
        "| b: activities | 0.70 | uniform* 0.40 | +0.30 | +0.30 to +0.30 | 2 |"]  # kernel-cues: an ablation


def test_the_penalty_benchmark_picks_on_the_labelled_videos_and_scores_the_others(monkeypatch):
    """benchmarks/penalty.py: for each choice of labelled videos, the penalty best on them (ties: the one
    nearest the preset's own) is scored on the other videos, beside the preset's own on those same videos."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import penalty

    f1 = [np.array([[0.8, 0.4, 0.2],    # penalty 0.1
                    [0.6, 0.6, 0.6],    # 0.2, the preset's own
                    [0.4, 0.8, 1.0]])]  # 0.3
    # labelled videos 0 and 1: all three tie at 0.6, so 0.2, scoring 0.6 on video 2; 0 and 2: 0.3 (0.7), 0.8
    # on video 1; 1 and 2: 0.3 (0.9), 0.4 on video 0
    got = penalty.calibrated(f1, [0.1, 0.2, 0.3], 0.2, 2)
    assert got == {"calibrated": 0.6, "shipped_on_the_rest": 0.6, "picked": {"0.1": 0, "0.2": 1, "0.3": 2}}
