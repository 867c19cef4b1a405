"""How far a lead over the baselines carries: each segmenter's boundary F1 less each baseline's, per
truth level, with a 95 % interval from resampling the videos, paired (the same videos for both). Why:
a mean over a handful of videos hides how much they disagree, and the spread over seeds says how
steady a method is on these videos, not how far its lead over a few of them carries."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.evaluate.baselines import VERSION_PREFIX

COLUMNS = ["method", "baseline", "truth_level", "metric", "method_level", "baseline_level", "method_score",
           "baseline_score", "margin", "low", "high", "videos"]


def paired_interval(ours, theirs, rounds: int = 2000) -> tuple[float, float]:
    """The 95 % interval of the mean of ours - theirs over the videos (two equal-length sequences, one
    value per video), by resampling the videos with replacement (seeded: a rerun prints the same).
    With two videos it spans the two differences."""
    differences = np.asarray(ours, np.float64) - np.asarray(theirs, np.float64)
    picks = np.random.default_rng(0).integers(0, len(differences), (rounds, len(differences)))
    low, high = np.percentile(differences[picks].mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def margins(per_video: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """COLUMNS rows from scoring.score_all's per-video table: every method that is no baseline against
    every baseline, per truth level and metric of ``metrics`` (_margin)."""
    levels = per_video[per_video["pred_level"].str.isdigit()]
    names = sorted(levels["method"].unique())
    ours = [m for m in names if not m.startswith(VERSION_PREFIX)]
    theirs = [m for m in names if m.startswith(VERSION_PREFIX)]
    rows = []
    for truth_level, scored in levels.groupby("truth_level", sort=True):
        for metric in metrics:
            wide = scored.pivot_table(index="video_id", columns=["method", "pred_level"], values=metric)
            rows += [[method, baseline, truth_level, metric, *_margin(wide[method], wide[baseline])]
                     for method in ours for baseline in theirs if method in wide and baseline in wide]
    return pd.DataFrame(rows, columns=COLUMNS)


def _margin(ours: pd.DataFrame, theirs: pd.DataFrame) -> list:
    """COLUMNS from method_level on, of two methods' per-video scores (a column per predicted level):
    each at its level with the best mean on the videos both were scored on, then paired on the videos
    that both have at those levels."""
    both = ours.notna().any(axis=1) & theirs.notna().any(axis=1)
    ours_level, theirs_level = ours[both].mean().idxmax(), theirs[both].mean().idxmax()
    pair = pd.concat([ours[ours_level], theirs[theirs_level]], axis=1)[both].dropna()
    a, b = pair.iloc[:, 0], pair.iloc[:, 1]
    return [ours_level, theirs_level, a.mean(), b.mean(), a.mean() - b.mean(), *paired_interval(a, b), len(pair)]


def format_margins(table: pd.DataFrame) -> str:
    """The margins as aligned text, scores to 3 decimals, margins signed."""
    shown = table.copy()
    for column in ("method_score", "baseline_score"):
        shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    for column in ("margin", "low", "high"):
        shown[column] = shown[column].map(lambda v: f"{v:+.3f}")
    return shown.to_string(index=False)
