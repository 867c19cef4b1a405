"""Scoring event tables against truth: events rows -> per-video scores -> the method x level table.

Every predicted level is scored against every truth level (frame MoF/IoU, boundary F1 at each
tolerance in seconds, in a column named by it (``f1_column``: ``f1_0.5s``, ``f1_1s``), and at a
fraction of the duration, ``f1_5pct``); HLR scores the whole predicted tree
against each truth level (``pred_level = "tree"``). The summary averages over videos and adds
``pred_level = "best"`` (per metric, the best predicted level for that truth level) and
``truth_level = "all"`` (the mean over truth levels of the best and tree rows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from streamer_core import metrics
from streamer_core.metrics import Segmentation

HLR_METRICS = ["hlr_miou", "hlr_mof"]


def f1_column(tolerance_s: float) -> str:
    """The boundary F1 column at a tolerance in seconds: 0.5 -> "f1_0.5s", 1.0 -> "f1_1s"."""
    return f"f1_{tolerance_s:g}s"


@dataclass(frozen=True)
class ScoreSettings:
    resolution_s: float = 0.1  # frame bins for MoF / IoU / HLR MoF
    tolerances_s: tuple[float, ...] = (0.5, 1.0)  # boundary F1 tolerances in seconds, a column each
    fraction: float = 0.05  # boundary F1 tolerance as a fraction of the duration
    duration_tolerance_s: float = 1.0  # larger duration differences are warned about

    def __post_init__(self) -> None:
        if not self.tolerances_s or min(self.tolerances_s) < 0 or len(set(map(f1_column, self.tolerances_s))) \
                < len(self.tolerances_s):
            raise ValueError(f"tolerances_s: need distinct values >= 0, got {self.tolerances_s}")

    @property
    def boundary_metrics(self) -> list[str]:
        """The boundary F1 columns at the tolerances in seconds."""
        return list(map(f1_column, self.tolerances_s))

    @property
    def frame_metrics(self) -> list[str]:
        """The per-level columns, in table order."""
        return ["mof", "iou", *self.boundary_metrics, "f1_5pct"]

    @property
    def metrics(self) -> list[str]:
        """Every score column: the per-level ones, then the whole-tree (HLR) ones."""
        return self.frame_metrics + HLR_METRICS


def score_video(truth: dict[int, Segmentation], levels: list[Segmentation],
                settings: ScoreSettings = ScoreSettings()) -> list[dict]:
    """Rows (pred_level, truth_level, metrics) for one video and one method."""
    tol = settings.duration_tolerance_s
    rows = []
    for t_level, true in sorted(truth.items()):
        for p_level, pred in enumerate(levels):
            frame = metrics.frame_scores(true, pred, settings.resolution_s, tol)
            f1 = {f1_column(s): metrics.boundary_scores(true, pred, s, tol).f1 for s in settings.tolerances_s}
            rows.append({"pred_level": str(p_level), "truth_level": str(t_level), "mof": frame.mof,
                         "iou": frame.iou, "pred_events": len(pred.spans), "truth_segments": len(true.spans), **f1,
                         "f1_5pct": metrics.boundary_scores_relative(true, pred, settings.fraction, tol).f1})
        reduced = metrics.hlr(true, levels, settings.resolution_s, tol)
        rows.append({"pred_level": "tree", "truth_level": str(t_level), "hlr_miou": reduced.miou,
                     "hlr_mof": reduced.mof, "pred_events": len(reduced.matches),
                     "truth_segments": len(true.spans)})
    return rows


def score_all(truth: dict[str, dict[int, Segmentation]],
              predictions: dict[str, dict[str, list[Segmentation]]], videos: list[str],
              settings: ScoreSettings = ScoreSettings()) -> pd.DataFrame:
    """Per-video scores of every method on ``videos`` (those with truth and predictions)."""
    rows = []
    for method, by_video in sorted(predictions.items()):
        for video in videos:
            if video in by_video:
                rows += [{"method": method, "video_id": video, **row}
                         for row in score_video(truth[video], by_video[video], settings)]
    return pd.DataFrame(rows, columns=["method", "video_id", "pred_level", "truth_level", *settings.metrics,
                                       "pred_events", "truth_segments"])


def metric_columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(per-level, all) score columns of a per-video or summary table, in its order."""
    per_level = [c for c in table.columns
                 if c in ("mof", "iou", "f1_5pct") or (c.startswith("f1_") and c.endswith("s"))]
    return per_level, per_level + [c for c in HLR_METRICS if c in table.columns]


def summarize(per_video: pd.DataFrame) -> pd.DataFrame:
    """Mean over videos per (method, pred_level, truth_level), plus "best" and "all" rows."""
    per_level, scores = metric_columns(per_video)
    keys = ["method", "pred_level", "truth_level"]
    grouped = per_video.groupby(keys, sort=True)
    table = grouped[scores + ["pred_events", "truth_segments"]].mean()
    table["videos"] = grouped["video_id"].nunique()
    table = table.reset_index()
    levels = table[table["pred_level"].str.isdigit()]
    best = levels.groupby(["method", "truth_level"])[per_level + ["videos"]].max().reset_index()
    best["pred_level"] = "best"
    table = pd.concat([table, best], ignore_index=True)
    chosen = table[table["pred_level"].isin(["best", "tree"])]
    overall = chosen.groupby(["method", "pred_level"])[scores + ["videos"]].mean().reset_index()
    overall["truth_level"] = "all"
    table = pd.concat([table, overall], ignore_index=True)
    order = {"tree": 1e6, "best": 1e6 + 1}
    table["_p"] = table["pred_level"].map(lambda p: order.get(p, float(p) if p.isdigit() else 1e7))
    table["_t"] = table["truth_level"].map(lambda t: float(t) if t.isdigit() else np.inf)
    table = table.sort_values(["method", "_t", "_p"]).drop(columns=["_p", "_t"])
    return table[keys + scores + ["pred_events", "truth_segments", "videos"]].reset_index(drop=True)


def format_table(table: pd.DataFrame) -> str:
    """The summary as aligned text (blank where a metric does not apply)."""
    scores = metric_columns(table)[1]
    shown = table.copy()
    for col in scores + ["pred_events", "truth_segments"]:
        digits = 3 if col in scores else 1
        shown[col] = shown[col].map(lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}")
    return shown.to_string(index=False)
