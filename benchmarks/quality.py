"""Segmentation quality of STREAMER presets against the baselines, with a strict tune / test split.

    python benchmarks/quality.py [--corpora test] [--presets tiny-default,default] [--seeds 0,1,2]
        [--baselines uniform,grid,pelt,kernel,clasp,twfinch,abd,scenedetect] [--set LABEL:section.key=value]
    python benchmarks/quality.py --corpora tune --tune-baselines   # choose the baselines' penalties
    python benchmarks/quality.py --corpora mocap,mocap-periods --levels 2   # sensors read on/off
    python benchmarks/quality.py --corpora tune --place pen3:model.refine=0.3   # placed again, learned once

Corpora (`CORPORA`) are either "tune" (options, thresholds and the baselines' penalties were chosen
on them) or "test" (never looked at while choosing anything); `--corpora tune|test|all|a,b` picks
them. Each is written once under `<state dir>/quality/<name>` (again when the code that writes
corpora changes: writers_stamp) and decoded once. A preset learns one
pass (`--passes`) over a corpus's videos in order from a fresh model seeded by each of `--seeds`,
then segments them without learning; the baselines see the same decoded snippets. Each truth
level is scored against one predicted level, fixed per corpus (not the best one afterwards):
boundary F1 within 0.5 s and 1 s, MoF, events per video; STREAMER's numbers are the mean and the
spread (standard deviation) over the seeds. Printed: one JSON line per corpus, method and truth
level, then the Markdown table of the README.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from pipelines import sample
from pipelines.cli import Parser, UnknownNameError, UserError, command
from pipelines.data import sensors
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings
from pipelines.evaluate import baselines, datasets
from pipelines.evaluate.margins import paired_interval
from pipelines.evaluate.replay import DecodedVideo, boundaries_by_video, decode_folder, learned, segmented
from pipelines.evaluate.truth import read_truth, segment_counts
from pipelines.runtime.tracking import state_dir
from pipelines.sample.corpus import TRUTH_FILE, CorpusOptions, write_corpus
from pipelines.sample.photos import PhotosOptions, write_photos_corpus
from pipelines.sample.shots import ShotsOptions, write_shots_corpus
from streamer_core import Config, load_config
from streamer_core.config import named_options, placement_options, with_placement
from streamer_core.metrics import Segmentation, boundary_scores, frame_scores

TOLERANCES_S = (0.25, 0.5, 1.0)  # 0.25 s: how well a cut is timed, beyond being found


@dataclass(frozen=True)
class Corpus:
    role: str  # "tune": options were chosen on it; "test": never looked at while choosing
    write: Callable[[Path], object]
    levels: dict[int, tuple[str, int]]  # truth level -> (its name, the STREAMER level scored on it)
    kind: str = "frames"  # or "features" (one .npy row per snippet)


def _sample(**options) -> Callable[[Path], object]:
    return lambda folder: write_corpus(folder, CorpusOptions(videos=12, min_duration_s=30, max_duration_s=50,
                                                             length_step_s=0.0, **options))


def _motions(seed: int, every: int = 1, blend_s: float = 0.0) -> Callable[[Path], object]:
    return lambda folder: datasets.write_basic_motions(folder, seed=seed, every=every, blend_s=blend_s)


def _periods(seed: int, clear: bool = False) -> Callable[[Path], object]:
    return lambda folder: datasets.write_basic_motion_periods(folder, seed=seed, clear=clear)


def _regimes(seed: int) -> Callable[[Path], object]:
    return lambda folder: datasets.write_ucr_regimes(folder, seed=seed, streams=4, sources=datasets.TUNE_REGIMES)


SCENES = {0: ("actions", 0), 1: ("scenes", 1)}
PERIODS = {0: ("activities", 0), 1: ("periods", 1)}
CORPORA = {
    # the planted sample corpus with boundaries anywhere in time (length_step_s=0), not on the sampling grid
    "sample-511": Corpus("tune", _sample(seed=511), SCENES),
    "sample-512": Corpus("tune", _sample(seed=512, style="flat", fps=(12.5,)), SCENES),
    "sample-513": Corpus("tune", _sample(seed=513, fps=(29.97, 24.0)), SCENES),
    "sample-514": Corpus("tune", _sample(seed=514, dissolve_s=1.0), SCENES),  # scenes dissolve into each other
    # a shaking camera, flicker and sensor noise: changes that are no event (added after the test corpora,
    # which have such nuisances, were seen to be cut 1.3-1.4x as often as their truth)
    "sample-515": Corpus("tune", _sample(seed=515, handheld=True), SCENES),
    # actions that change one of the object's shape, colour and motion (elsewhere shape and colour change
    # at every action, which a colour histogram alone would find), steady and handheld
    "sample-516": Corpus("tune", _sample(seed=516, subtle=True), SCENES),
    "sample-517": Corpus("tune", _sample(seed=517, subtle=True, handheld=True), SCENES),
    # actions as short as 1 s (elsewhere 2 s), steady and handheld (43rd round)
    "sample-518": Corpus("tune", _sample(seed=518, shortest_action_s=1.0), SCENES),
    "sample-519": Corpus("tune", _sample(seed=519, shortest_action_s=1.0, handheld=True), SCENES),
    # real photographs as backdrops and cut-out objects (Debian's opencv-doc), each action changing one of the
    # object's shape, photograph and motion, steady and handheld (45th round)
    "sample-520": Corpus("tune", _sample(seed=520, style="photo", subtle=True), SCENES),
    "sample-521": Corpus("tune", _sample(seed=521, style="photo", subtle=True, handheld=True), SCENES),
    # BasicMotions recordings joined in four seeded orders and lengths: 8 streams alone (seed 0) left a
    # choice for feature streams within one seed's noise
    **{"motions" if seed == 0 else f"motions-{seed}": Corpus("tune", _motions(seed), {0: ("activities", 0)}, "features")
       for seed in range(4)},
    # the same streams read as a sensor at 2 Hz would give them (every 5th sample): one sample a snippet, so the
    # rows are the samples, as in the issue's tool-use streams (44th round)
    **{"motions-2hz" if seed == 0 else f"motions-2hz-{seed}": Corpus("tune", _motions(seed, every=5),
                                                                     {0: ("activities", 0)}, "features")
       for seed in range(2)},
    # joined through crossfades of 0-2 s, rows over the whole signal, each labelled by its middle sample as mocap's
    # are: a change falls anywhere in a row or spreads over a few (48th round; seeds 10 and 11, so that their orders
    # of activities are not those of the corpora above)
    **{"motions-blend" if seed == 10 else "motions-blend-1": Corpus("tune", _motions(seed, blend_s=2.0),
                                                                   {0: ("activities", 0)}, "features")
       for seed in (10, 11)},
    # the same recordings in two levels: periods of stretches of two or three activities each
    **{"periods" if seed == 0 else f"periods-{seed}": Corpus("tune", _periods(seed), PERIODS, "features")
       for seed in range(2)},
    # ... with every period change told by the activities next to it (datasets.period_stream's clear): in
    # the ones above, most changes have an activity both periods hold beside them, and could be a stretch over
    **{"periods-clear" if seed == 0 else f"periods-clear-{seed}": Corpus("tune", _periods(seed, clear=True), PERIODS,
                                                                         "features") for seed in range(2)},
    # univariate regimes of one repeated pattern each, as the test corpora tssb and ucr-regimes hold,
    # from other datasets (datasets.TUNE_REGIMES): added in the 34th round, after both were run
    **{"regimes-tune" if seed == 0 else f"regimes-tune-{seed}": Corpus("tune", _regimes(seed), {0: ("regimes", 0)},
                                                                       "features") for seed in range(2)},
    "shots-a": Corpus("test", partial(write_shots_corpus, options=ShotsOptions(videos=6, seed=9001)),
                      {0: ("actions", 0), 1: ("shots", 1)}),
    "shots-b": Corpus("test", partial(write_shots_corpus, options=ShotsOptions(videos=6, seed=9002)),
                      {0: ("actions", 0), 1: ("shots", 1)}),
    # a third generator, of real photographs (38th round: written and fixed before its first run)
    "photos": Corpus("test", partial(write_photos_corpus, options=PhotosOptions(videos=6, seed=9101)),
                     {0: ("actions", 0), 1: ("shots", 1)}),
    "mocap": Corpus("test", datasets.write_mocap, {0: ("activities", 0)}, "features"),
    # the same recordings read as a sensor at 2 Hz would give them (every 60th sample), rows the samples (44th round:
    # written and fixed before its first run)
    "mocap-2hz": Corpus("test", partial(datasets.write_mocap, every=60), {0: ("activities", 0)}, "features"),
    "mocap-periods": Corpus("test", datasets.write_mocap_periods, PERIODS, "features"),
    # the same streams read as a sensor at 2 Hz would give them, as the issue's gestures and tool-use periods (44th
    # round: written and fixed before its first run)
    "mocap-periods-2hz": Corpus("test", partial(datasets.write_mocap_periods, every=60), PERIODS, "features"),
    "mocap-periods-clear": Corpus("test", lambda folder: datasets.write_mocap_periods(folder, clear=True), PERIODS,
                                  "features"),
    # univariate regimes of one repeated pattern each, scored at level 0 as an activity of one repeated motion is
    "tssb": Corpus("test", datasets.write_tssb, {0: ("regimes", 0)}, "features"),
    # the same construction from four UCR datasets, with shorter regimes and more of them
    "ucr-regimes": Corpus("test", datasets.write_ucr_regimes, {0: ("regimes", 0)}, "features"),
    "real-cuts": Corpus("test", datasets.write_real_cuts, {0: ("shots", 1)}),
}


STAMP_FILE = "written-by.txt"  # written last, after a corpus's truth: writers_stamp() when it was written


def writers_stamp() -> str:
    """A digest of the code that writes the corpora (the generators, the datasets' readers, the sensor
    rows). Why: a corpus is written once and then read from the state folder, so one written by an
    earlier generator went on being measured after the generator changed, and its numbers could not
    be had again from the code (docs/quality-log.md, the 49th round)."""
    modules = [*sorted(Path(sample.__file__).parent.glob("*.py")), Path(datasets.__file__), Path(sensors.__file__)]
    return hashlib.sha256(b"".join(path.read_bytes() for path in modules)).hexdigest()[:16]


def stamped(folder: Path, stamp: str) -> bool:
    """Whether ``folder`` holds a whole corpus (its stamp is written last) written under ``stamp``."""
    return (folder / STAMP_FILE).exists() and (folder / STAMP_FILE).read_text() == stamp


def corpus_folder(name: str) -> Path:
    """The corpus, written on first use and again whenever the code that writes corpora has changed
    since (writers_stamp); a package it is read from that is missing is a user error."""
    folder, stamp = state_dir() / "quality" / name, writers_stamp()
    if not stamped(folder, stamp):
        shutil.rmtree(folder, ignore_errors=True)
        try:
            CORPORA[name].write(folder)
        except ImportError as exc:
            raise UserError(f"corpus {name}: {exc} (bash scripts/setup.sh installs the packages it reads)") from None
        except FileNotFoundError as exc:  # a Debian package's files (render.photograph)
            raise UserError(f"corpus {name}: {exc}") from None
        (folder / STAMP_FILE).write_text(stamp)
    return folder


@dataclass
class Loaded:
    """One corpus, decoded once: truth, decoded samples per image size, baseline inputs."""

    name: str
    corpus: Corpus
    folder: Path
    truth: dict[str, dict[int, Segmentation]]
    decoded: dict[DecodeSettings, list[DecodedVideo]]
    inputs: list[baselines.VideoInput]

    def videos(self, cfg: Config) -> list[DecodedVideo]:
        settings = DecodeSettings.for_model(cfg.model, chunk_frames=cfg.data.chunk_frames)
        if settings not in self.decoded:
            self.decoded[settings] = decode_folder(self.folder, settings)
        return self.decoded[settings]


def load(name: str, snippet_s: float = 0.5, levels: int = 0) -> Loaded:
    folder = corpus_folder(name)
    if levels and CORPORA[name].kind == "features":
        folder = read_at_levels(folder, levels)
    truth = read_truth(str(folder / TRUTH_FILE)).videos
    inputs = []
    for row in list_corpus(str(folder)):
        inputs.append(baselines.load_video(row, snippet_s, counts=segment_counts(truth[row.video_id])))
    return Loaded(name, CORPORA[name], folder, truth, {}, inputs)


def read_at_levels(folder: Path, levels: int) -> Path:
    """A copy of a feature corpus whose rows read as a sensor with ``levels`` levels per channel
    would (2: on/off), spread evenly over each column's 1st to 99th percentile over the corpus
    (--levels): most pairs of inputs of such a channel are alike, which a kernel's median bandwidth
    must survive. Written once, beside the corpus, and again when the corpus is written again."""
    target = folder.with_name(f"{folder.name}-at-{levels}-levels")
    if not stamped(target, (folder / STAMP_FILE).read_text()):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        streams = {path.name: np.load(path) for path in sorted(folder.glob("*.npy"))}
        rows = np.concatenate(list(streams.values()))
        low, high = np.percentile(rows, 1, axis=0), np.percentile(rows, 99, axis=0)
        for stream, x in streams.items():
            steps = np.clip(np.round((x - low) / np.maximum(high - low, 1e-9) * (levels - 1)), 0, levels - 1)
            np.save(target / stream, (steps / (levels - 1)).astype(np.float32))
        shutil.copyfile(folder / TRUTH_FILE, target / TRUTH_FILE)
        shutil.copyfile(folder / STAMP_FILE, target / STAMP_FILE)
    return target


def preset_config(loaded: Loaded, preset: str, overrides: list[str], seed: int) -> Config:
    """The preset's config for the corpus (its feature rows' width, where it has rows) and seed."""
    extra = []
    if loaded.corpus.kind == "features":
        extra = ["model.input_kind=features", f"model.feature_dim={loaded.inputs[0].features.shape[1]}"]
    return load_config(preset, overrides=[*extra, *overrides, f"learn.seed={seed}"])


def streamer_boundaries(loaded: Loaded, preset: str, overrides: list[str], seed: int, passes: int,
                        placements: dict[str, dict[str, float | int]] | None = None) -> tuple[dict, float]:
    """Each video's boundaries per level after learning (under the key None), and under each label of
    ``placements`` the same learned model's, placed with those options (with_placement, as `jobs/segment.py
    --set` places them); and the learning speed in samples/s. Why: learning is most of a run's time, and a
    placement option changes nothing that is learned."""
    cfg = preset_config(loaded, preset, overrides, seed)
    videos = loaded.videos(cfg)
    started = time.perf_counter()
    model = learned(cfg, videos, passes)
    speed = passes * sum(len(v.samples) for v in videos) / (time.perf_counter() - started)
    found = {None: boundaries_by_video(segmented(model, videos))}
    learned_cfg = model.cfg
    for label, placement in (placements or {}).items():
        model.cfg = with_placement(learned_cfg, placement)[0]
        found[label] = boundaries_by_video(segmented(model, videos))
    model.cfg = learned_cfg
    return found, speed


def by_label(entries: list[str]) -> dict[str, list[str]]:
    """--set's and --place's LABEL:SECTION.KEY=VALUE entries as each label's overrides, in order."""
    labelled: dict[str, list[str]] = {}
    for entry in entries:
        label, _, override = entry.partition(":")
        labelled.setdefault(label, []).append(override)
    return labelled


def placements_of(entries: list[str]) -> dict[str, dict[str, float | int]]:
    """--place's entries as each label's placement options (placement_options: ConfigError for an
    option a trained model cannot change)."""
    return {label: placement_options(load_config(overrides=overrides), named_options(overrides=overrides))
            for label, overrides in by_label(entries).items()}


def score(loaded: Loaded, found: dict[str, list[list[float]]], level_of: Callable[[int, int], int]) -> dict:
    """Per truth level: mean F1 at each tolerance, MoF and events per video; ``level_of(truth level,
    levels found)`` picks the predicted level scored against it."""
    out = {}
    for t_level, (name, _) in loaded.corpus.levels.items():
        f1 = {tol: [] for tol in TOLERANCES_S}
        mof, events = [], []
        for video, levels in sorted(loaded.truth.items()):
            true = levels[t_level]
            cuts = found[video][min(level_of(t_level, len(found[video])), len(found[video]) - 1)]
            pred = Segmentation.from_boundaries(video, true.duration_s, cuts)
            for tol in TOLERANCES_S:
                f1[tol].append(boundary_scores(true, pred, tol).f1)
            mof.append(frame_scores(true, pred).mof)
            events.append(len(pred.spans))
        out[name] = {**{f"f1_{tol:g}s": float(np.mean(v)) for tol, v in f1.items()},
                     "f1_0.5s_videos": f1[0.5], "mof": float(np.mean(mof)), "events": float(np.mean(events)),
                     "truth_segments": float(np.mean([len(lv[t_level].spans) for lv in loaded.truth.values()]))}
    return out


def run_baseline(loaded: Loaded, name: str, **params) -> dict:
    inputs = loaded.inputs
    found = baselines.SEGMENTERS[name].run(inputs, **params)
    by_video = {v.video_id: levels for v, levels in zip(inputs, found)}
    # a multi-level baseline (uniform, twfinch) faces truth level k with its level k
    return score(loaded, by_video, lambda t_level, _: t_level)


def mean_spread(runs: list[dict]) -> dict:
    """Per truth level and metric: the mean over seeds, and the standard deviation as ``<metric>_sd``
    (per video, ``f1_0.5s_videos``: each video's mean over seeds)."""
    out = {}
    for level in runs[0]:
        cells = {}
        for metric in runs[0][level]:
            values = [r[level][metric] for r in runs]
            if metric == "f1_0.5s_videos":
                cells[metric] = np.round(np.mean(values, axis=0), 3).tolist()
                continue
            cells[metric] = round(float(np.mean(values)), 3)
            if len(values) > 1 and metric.startswith("f1"):
                cells[f"{metric}_sd"] = round(float(np.std(values)), 3)
        out[level] = cells
    return out


TUNING = {"pelt": ("penalty", (0.1, 0.2, 0.5, 1.0, 2.0, 4.0)), "kernel": ("penalty", (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)),
          "kernel-cues": ("penalty", (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)),
          "grid": ("period_s", (1.0, 1.5, 2.0, 3.0, 4.0, 6.0)), "clasp": ("window_size", (2, 3, 4))}


def tune_baselines(loaded: list[Loaded]) -> None:
    """Prints, per tunable baseline, the mean fine-level F1 at 0.5 s over the corpora for each value."""
    for name, (param, values) in TUNING.items():
        means = {}
        for value in values:
            fine = [run_baseline(c, name, **{param: value})[c.corpus.levels[0][0]]["f1_0.5s"] for c in loaded]
            means[value] = round(float(np.mean(fine)), 3)
        print(json.dumps({"tune": name, "param": param, "f1_0.5s": means,
                          "best": max(means, key=means.get)}), flush=True)


def pick(selection: str) -> list[str]:
    if selection in ("tune", "test"):
        return [n for n, c in CORPORA.items() if c.role == selection]
    names = list(CORPORA) if selection == "all" else selection.split(",")
    if unknown := [n for n in names if n not in CORPORA]:
        known = ", ".join(["tune", "test", "all", *CORPORA])
        raise UnknownNameError(f"--corpora: no corpus {', '.join(unknown)}; known: {known}")
    return names


@command
def main(argv: list[str] | None = None) -> int:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default="test", help="tune, test, all, or comma-separated names")
    p.add_argument("--presets", default="tiny-default", help="comma-separated PRESET or LABEL=PRESET")
    p.add_argument("--seeds", default="0,1,2", help="learn.seed values; mean and spread over them")
    p.add_argument("--baselines", default="uniform,grid,pelt,kernel,twfinch,abd,scenedetect")
    p.add_argument("--passes", type=int, default=1, help="passes over the corpus before segmenting")
    p.add_argument("--set", action="append", default=[], metavar="LABEL:SECTION.KEY=VALUE",
                   help="override for one preset label (e.g. tiny-default:model.z_threshold=2.5)")
    p.add_argument("--place", action="append", default=[], metavar="LABEL:model.KEY=VALUE",
                   help="one more column: the first preset's learned models placed again with this placement "
                        "option (model.refine, ...), as jobs/segment.py --set places them; no learning of its own")
    p.add_argument("--tune-baselines", action="store_true", help="sweep the baselines' penalties instead")
    p.add_argument("--levels", type=int, default=0,
                   help="read each column of feature rows at this many levels (2: on/off); 0: as recorded")
    args = p.parse_args(argv)
    if args.levels == 1 or args.levels < 0:
        p.error("--levels: 0 (as recorded) or at least 2")
    names = pick(args.corpora)
    loaded = [load(name, levels=args.levels) for name in names]
    if args.tune_baselines:
        tune_baselines(loaded)
        return 0
    presets = {label: preset or label for label, _, preset in (i.partition("=") for i in args.presets.split(",") if i)}
    overrides_of, placements = by_label(args.set), placements_of(args.place)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for corpus in loaded:
        for name in [b for b in args.baselines.split(",") if b]:
            if name == "scenedetect" and corpus.corpus.kind == "features":
                continue
            started = time.perf_counter()
            levels = run_baseline(corpus, name)
            rows.append({"corpus": corpus.name, "role": corpus.corpus.role, "read_at_levels": args.levels,
                         "method": baselines.VERSION_PREFIX + name, "levels": mean_spread([levels]),
                         "seconds": round(time.perf_counter() - started, 1)})
            print(json.dumps(rows[-1]), flush=True)
        for index, (label, preset) in enumerate(presets.items()):
            placed = placements if index == 0 else {}
            runs, speeds = {key: [] for key in [None, *placed]}, []
            for seed in seeds:
                found, speed = streamer_boundaries(corpus, preset, overrides_of.get(label, []), seed, args.passes,
                                                   placed)
                for key, cuts in found.items():
                    runs[key].append(score(corpus, cuts, lambda t_level, _, m=corpus.corpus.levels: m[t_level][1]))
                speeds.append(speed)
            for key, scored in runs.items():
                rows.append({"corpus": corpus.name, "role": corpus.corpus.role, "read_at_levels": args.levels,
                             "method": label if key is None else key, "levels": mean_spread(scored),
                             "learn_samples_per_s": round(float(np.mean(speeds)), 1)})
                print(json.dumps(rows[-1]), flush=True)
    print(markdown(rows))
    return 0


def markdown(rows: list[dict]) -> str:
    """The README's three tables of the rows: a row per corpus and truth level, a column per method
    (the presets first; `*`: a baseline told the true counts). First F1 at 0.5 s (± its spread over
    the seeds, where there are several; in bold where it is the row's best) / at 1 s; then the true
    segments per video, and each method's MoF and events per video. `-` where a method did not run
    (PySceneDetect on feature streams). Last, the first preset's margin over the best baseline
    (ablations left out) with its interval over the videos (paired_interval). Why: the README's
    tables are this output, so a run is compared with them cell by cell."""
    methods = sorted(dict.fromkeys(r["method"] for r in rows), key=lambda m: m.startswith(baselines.VERSION_PREFIX))
    cells = {(r["corpus"], level, r["method"]): c for r in rows for level, c in r["levels"].items()}
    names = [_column(m) for m in methods]
    fine = [_table_row(["corpus: truth level", *names]), _table_row(["---"] * (len(names) + 1))]
    counts = [_table_row(["corpus: truth level", "true segments / video", *names]),
              _table_row(["---"] * (len(names) + 2))]
    margins = [_table_row(["corpus: truth level", methods[0], "best baseline", "margin", "95 % interval", "videos"]),
               _table_row(["---"] * 6)]
    rivals = [m for m in methods if m.startswith(baselines.VERSION_PREFIX) and not _baseline(m).ablation]
    preset = None if methods[0].startswith(baselines.VERSION_PREFIX) else methods[0]  # whose margins
    for corpus, level in dict.fromkeys((r["corpus"], level) for r in rows for level in r["levels"]):
        got = [cells.get((corpus, level, m)) for m in methods]
        truth = next(c["truth_segments"] for c in got if c)
        best = max(round(c["f1_0.5s"], 2) for c in got if c)
        fine.append(_table_row([f"{corpus}: {level}", *(_f1(c, best) if c else "-" for c in got)]))
        counts.append(_table_row([f"{corpus}: {level}", f"{truth:.1f}",
                                  *(f"{c['mof']:.2f}, {c['events']:.1f}" if c else "-" for c in got)]))
        ours = cells.get((corpus, level, preset))
        ran = [m for m in rivals if (corpus, level, m) in cells]
        if ours and ran:
            rival = max(ran, key=lambda m: cells[(corpus, level, m)]["f1_0.5s"])
            theirs = cells[(corpus, level, rival)]
            low, high = paired_interval(ours["f1_0.5s_videos"], theirs["f1_0.5s_videos"])
            margins.append(_table_row([f"{corpus}: {level}", f"{ours['f1_0.5s']:.2f}",
                                       f"{_column(rival)} {theirs['f1_0.5s']:.2f}",
                                       f"{ours['f1_0.5s'] - theirs['f1_0.5s']:+.2f}", f"{low:+.2f} to {high:+.2f}",
                                       str(len(ours["f1_0.5s_videos"]))]))
    return "\n".join(fine) + "\n\n" + "\n".join(counts) + "\n\n" + "\n".join(margins)


def _baseline(method: str) -> baselines.Baseline:
    return baselines.SEGMENTERS[method.removeprefix(baselines.VERSION_PREFIX)]


def _column(method: str) -> str:
    name = method.removeprefix(baselines.VERSION_PREFIX)
    return name + "*" if name != method and _baseline(method).told_counts else name


def _f1(cells: dict, best: float) -> str:
    spread = f" ±{cells['f1_0.5s_sd']:.2f}" if "f1_0.5s_sd" in cells else ""
    fine = f"{cells['f1_0.5s']:.2f}{spread}"
    if round(cells["f1_0.5s"], 2) == best:
        fine = f"**{fine}**"
    return f"{fine} / {cells['f1_1s']:.2f}"


def _table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
