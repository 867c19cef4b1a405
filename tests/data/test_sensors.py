"""Raw sensor recordings to feature streams (pipelines.data.sensors, `jobs/features.py`): the rows are
each snippet's mean, spread and change per channel, the same numbers from a CSV with or without
channel names and from a .npy; every readable recording is written, each bad one is named in one
`error:` line, and two recordings that would write one stream are both refused, never one of them
silently; the streams list and read as a corpus of feature streams, locally and in S3."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import stream_rows, stream_shape
from pipelines.data.sensors import RecordingError, read_recording, row_names, snippet_rows
from pipelines.data.sensors_cli import main

RATE = 20.0  # Hz: 10 samples to a 0.5 s snippet


def test_snippet_rows_are_mean_spread_and_change_per_channel():
    signal = np.stack([np.arange(12.0), np.tile([0.0, 2.0], 6)], axis=1)  # [12, 2] at 4 Hz
    rows = snippet_rows(signal, rate_hz=4.0, snippet_s=1.0)  # snippets of 4 samples; the last 4 make one
    assert rows.shape == (3, 6) and rows.dtype == np.float32
    np.testing.assert_allclose(rows[0], [1.5, 1.0, np.std([0, 1, 2, 3]), 1.0, 1.0, 2.0], rtol=1e-6)
    samples = np.random.default_rng(0).normal(size=(47, 3))  # against the definition, a snippet at a time
    plain = [[f(block[:, c]) for f in (np.mean, np.std, lambda x: np.abs(np.diff(x)).mean()) for c in range(3)]
             for block in (samples[k:k + 10] for k in range(0, 40, 10))]
    np.testing.assert_allclose(snippet_rows(samples, RATE, 0.5), plain, rtol=1e-5)
    assert row_names(["ax", "ay"], RATE, 0.5) == ["ax mean", "ay mean", "ax std", "ay std", "ax change", "ay change"]
    with pytest.raises(ValueError, match="holds 1.5 samples at 3 Hz; need 1"):
        snippet_rows(signal, rate_hz=3.0, snippet_s=0.5)


def test_snippets_keep_the_clock_where_a_snippet_holds_no_whole_number_of_samples():
    """At 25 Hz a 0.5 s snippet holds 12.5 samples: snippet k takes the samples recorded in
    [0.5 k, 0.5 (k + 1)) s, 12 and 13 in turn, so that row k stays at 0.5 k s (rows of 12 would run
    4 % fast: a 10-minute recording's last rows 25 s late)."""
    samples = np.random.default_rng(3).normal(size=(250, 2))  # 10 s
    rows = snippet_rows(samples, 25.0, 0.5)
    assert rows.shape == (20, 6)
    edges = [int(np.floor(12.5 * k + 1e-9)) for k in range(21)]
    plain = [[f(samples[a:b, c]) for f in (np.mean, np.std, lambda x: np.abs(np.diff(x)).mean()) for c in range(2)]
             for a, b in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(rows, plain, rtol=1e-5)
    assert len(snippet_rows(samples[:249], 25.0, 0.5)) == 19  # the last snippet is not whole


def test_one_sample_per_snippet_makes_the_samples_the_rows(tmp_path, capsys):
    """A 2 Hz recording at 0.5 s snippets (the issue's tool-use streams): no spread or change to take,
    so the rows are the samples as recorded, named by their channels; the command writes them so."""
    samples = np.random.default_rng(4).normal(size=(7, 3))
    np.testing.assert_array_equal(snippet_rows(samples, 2.0, 0.5), samples.astype(np.float32))
    assert row_names(["ax", "ay", "az"], 2.0, 0.5) == ["ax", "ay", "az"]
    (tmp_path / "raw").mkdir()
    _csv(tmp_path / "raw" / "tools.csv", np.column_stack([np.arange(7) / 2.0, samples]), ["time", "ax", "ay", "az"])
    assert main(["--input", str(tmp_path / "raw"), "--rate", "2", "--dest", str(tmp_path / "streams"),
                 "--drop", "time"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["widths"] == {"3": 1}
    with stream_rows(str(tmp_path / "streams" / "tools.npy")) as read:
        np.testing.assert_array_equal(read, samples.astype(np.float32))


def _csv(path, samples: np.ndarray, names: list[str] | None) -> None:
    lines = [",".join(names)] if names else []
    lines += [",".join(repr(float(v)) for v in row) for row in samples]
    path.write_text("\n".join(lines) + "\n")


def test_a_recording_reads_the_same_with_or_without_names_and_as_npy(tmp_path):
    samples = np.random.default_rng(1).normal(size=(30, 3))
    _csv(tmp_path / "named.csv", samples, ["time", "ax", "ay"])
    _csv(tmp_path / "plain.csv", samples, None)
    np.save(tmp_path / "plain.npy", samples)
    assert read_recording(tmp_path / "named.csv", ["time"])[0] == ["ax", "ay"]
    for path, drop in (("named.csv", ["time"]), ("plain.csv", ["0"]), ("plain.npy", ["0"])):
        names, read = read_recording(tmp_path / path, drop)
        assert len(names) == 2 and (read == samples[:, 1:]).all()
    samples[4, 2] = np.nan
    np.save(tmp_path / "nan.npy", samples)
    with pytest.raises(RecordingError, match="column '2', row 4: nan is not a finite number"):
        read_recording(tmp_path / "nan.npy")
    np.save(tmp_path / "pairs.npy", np.zeros((5, 2), [("a", "f4"), ("b", "f4")]).reshape(5, 2))
    with pytest.raises(RecordingError, match=r"dtype \[\('a'.* are not numbers"):
        read_recording(tmp_path / "pairs.npy")
    with pytest.raises(RecordingError, match="no column 'tme' to drop"):
        read_recording(tmp_path / "named.csv", ["tme"])


@pytest.fixture
def raw(tmp_path):
    """A folder of recordings at RATE: three good ones (a CSV with a timestamp column, one without
    names, a .npy) and five bad ones; returns (folder, the good ones' samples by stream)."""
    rng = np.random.default_rng(2)
    folder = tmp_path / "raw"
    (folder / "arm").mkdir(parents=True)
    good = {}
    walk = rng.normal(size=(205, 2))
    walk[100:, 1] += 3.0
    _csv(folder / "arm" / "walk.csv", np.column_stack([np.arange(205) / RATE, walk]), ["time", "ax", "ay"])
    good["arm/walk.npy"] = walk
    still = rng.normal(size=(60, 2))
    _csv(folder / "still.csv", np.column_stack([np.arange(60) / RATE, still]), None)
    good["still.npy"] = still
    np.save(folder / "wrist.npy", np.column_stack([np.arange(80) / RATE, rng.normal(size=(80, 2))]))
    good["wrist.npy"] = np.load(folder / "wrist.npy")[:, 1:]
    (folder / "bad.csv").write_text("time,ax,ay\n0,1,2\n0.05,x,3\n")
    (folder / "empty.csv").write_text("")
    np.save(folder / "short.npy", np.zeros((9, 3)))  # under one snippet
    _csv(folder / "twice.csv", np.zeros((40, 3)), None)  # and twice.npy: both would write twice.npy
    np.save(folder / "twice.npy", np.zeros((40, 3)))
    return folder, good


def test_the_command_writes_every_readable_recording_and_names_each_bad_one(raw, tmp_path, capsys):
    folder, good = raw
    runs = {}
    for drop in ("time", "0"):  # the timestamp, by its name, or by position where a file has no names
        dest = tmp_path / f"streams-{drop}"
        assert main(["--input", str(folder), "--rate", str(RATE), "--dest", str(dest), "--drop", drop]) == 2
        captured = capsys.readouterr()
        named = [line.split(":")[1].strip() for line in captured.err.splitlines() if line.startswith("error:")]
        runs[drop] = summary = json.loads(captured.out.strip().splitlines()[-1])
        assert sorted(named) == sorted(summary["failed"])
        assert [r.video_id for r in list_corpus(str(dest))] == sorted(s.removeprefix(f"{dest}/")
                                                                      for s in summary["written"])
        for row in list_corpus(str(dest)):
            with stream_rows(row.uri) as read:
                np.testing.assert_array_equal(read, snippet_rows(good[row.video_id], RATE, 0.5))
    assert sorted(runs["time"]["failed"]) == ["bad.csv", "empty.csv", "short.npy", "still.csv", "twice.csv",
                                              "twice.npy", "wrist.npy"]  # still and wrist have no "time"
    assert sorted(runs["0"]["failed"]) == ["arm/walk.csv", "bad.csv", "empty.csv", "short.npy", "twice.csv",
                                           "twice.npy"]  # walk.csv names its columns
    assert (runs["time"]["widths"], runs["0"]["widths"]) == ({"6": 1}, {"6": 2})
    assert runs["time"]["failed"]["bad.csv"] == "column 'ax', line 3: 'x' is not a finite number"
    assert runs["0"]["failed"]["short.npy"] == "9 samples, fewer than one snippet (10 at 20 Hz)"
    assert runs["0"]["failed"]["empty.csv"] == "no samples (the file is empty)"
    assert runs["0"]["failed"]["twice.npy"] == "twice.csv and twice.npy would both write twice.npy; rename one"
    with stream_rows(str(tmp_path / "streams-time" / "arm" / "walk.npy")) as read:
        assert len(read) == 20  # 205 samples: 20 snippets, the last 5 samples left out


@pytest.mark.slow
def test_streams_are_written_to_s3(raw, s3_server, s3_bucket, monkeypatch, capsys):
    folder, good = raw
    for name in ("bad.csv", "empty.csv", "short.npy", "twice.csv", "twice.npy"):
        (folder / name).unlink()
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    dest = f"{s3_bucket}/sensors"
    assert main(["--input", str(folder), "--rate", str(RATE), "--dest", dest, "--drop", "0", "--snippet", "1"]) == 2
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["written"] == [f"{dest}/still.npy", f"{dest}/wrist.npy"] and list(summary["failed"]) == [
        "arm/walk.csv"]
    listed = list_corpus(dest, s3_server.settings())
    assert [r.video_id for r in listed] == ["still.npy", "wrist.npy"]
    assert stream_shape(listed[1].uri, s3_server.settings()) == (4, 6)  # 80 samples, 20 a snippet of 1 s


def test_bad_arguments_are_one_error_line_and_write_nothing(raw, tmp_path, capsys):
    folder, _ = raw
    for argv in (["--rate", "1"],  # a 0.5 s snippet would hold half a sample
                 ["--dest", str(folder / "out")],
                 ["--input", str(tmp_path / "nothing")],
                 ["--input", "s3://bucket/raw"]):
        args = {"--input": str(folder), "--rate": str(RATE), "--dest": str(tmp_path / "streams")}
        args.update(zip(argv[::2], argv[1::2]))
        assert main([item for pair in args.items() for item in pair]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ")
    assert not (tmp_path / "streams").exists() and not (folder / "out").exists()
