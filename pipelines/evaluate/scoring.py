"""Scoring event tables against truth: events rows -> per-video scores -> the method x level table.

Every predicted level is scored against every truth level (frame MoF/IoU, boundary F1 at a
tolerance in seconds and as a fraction of the duration); HLR scores the whole predicted tree
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

FRAME_METRICS = ["mof", "iou", "f1_1s", "f1_5pct"]
HLR_METRICS = ["hlr_miou", "hlr_mof"]
METRICS = FRAME_METRICS + HLR_METRICS


@dataclass(frozen=True)
class ScoreSettings:
    resolution_s: float = 0.1  # frame bins for MoF / IoU / HLR MoF
    tolerance_s: float = 1.0  # boundary F1 tolerance in seconds
    fraction: float = 0.05  # boundary F1 tolerance as a fraction of the duration
    duration_tolerance_s: float = 1.0  # larger duration differences are warned about


def score_video(truth: dict[int, Segmentation], levels: list[Segmentation],
                settings: ScoreSettings = ScoreSettings()) -> list[dict]:
    """Rows (pred_level, truth_level, metrics) for one video and one method."""
    tol = settings.duration_tolerance_s
    rows = []
    for t_level, true in sorted(truth.items()):
        for p_level, pred in enumerate(levels):
            frame = metrics.frame_scores(true, pred, settings.resolution_s, tol)
            rows.append({"pred_level": str(p_level), "truth_level": str(t_level), "mof": frame.mof,
                         "iou": frame.iou, "pred_events": len(pred.spans), "truth_segments": len(true.spans),
                         "f1_1s": metrics.boundary_scores(true, pred, settings.tolerance_s, tol).f1,
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
    return pd.DataFrame(rows, columns=["method", "video_id", "pred_level", "truth_level", *METRICS,
                                       "pred_events", "truth_segments"])


def summarize(per_video: pd.DataFrame) -> pd.DataFrame:
    """Mean over videos per (method, pred_level, truth_level), plus "best" and "all" rows."""
    keys = ["method", "pred_level", "truth_level"]
    grouped = per_video.groupby(keys, sort=True)
    table = grouped[METRICS + ["pred_events", "truth_segments"]].mean()
    table["videos"] = grouped["video_id"].nunique()
    table = table.reset_index()
    levels = table[table["pred_level"].str.isdigit()]
    best = levels.groupby(["method", "truth_level"])[FRAME_METRICS + ["videos"]].max().reset_index()
    best["pred_level"] = "best"
    table = pd.concat([table, best], ignore_index=True)
    chosen = table[table["pred_level"].isin(["best", "tree"])]
    overall = chosen.groupby(["method", "pred_level"])[METRICS + ["videos"]].mean().reset_index()
    overall["truth_level"] = "all"
    table = pd.concat([table, overall], ignore_index=True)
    order = {"tree": 1e6, "best": 1e6 + 1}
    table["_p"] = table["pred_level"].map(lambda p: order.get(p, float(p) if p.isdigit() else 1e7))
    table["_t"] = table["truth_level"].map(lambda t: float(t) if t.isdigit() else np.inf)
    table = table.sort_values(["method", "_t", "_p"]).drop(columns=["_p", "_t"])
    return table[keys + METRICS + ["pred_events", "truth_segments", "videos"]].reset_index(drop=True)


def format_table(table: pd.DataFrame) -> str:
    """The summary as aligned text (blank where a metric does not apply)."""
    shown = table.copy()
    for col in METRICS + ["pred_events", "truth_segments"]:
        digits = 3 if col in METRICS else 1
        shown[col] = shown[col].map(lambda v, d=digits: "" if pd.isna(v) else f"{v:.{d}f}")
    return shown.to_string(index=False)
