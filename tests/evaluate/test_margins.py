"""A method's lead over each baseline and how far it carries over the videos (pipelines.evaluate.margins)."""
from __future__ import annotations

import pandas as pd
import pytest

from pipelines.evaluate.margins import format_margins, margins, paired_interval


def test_the_interval_is_paired_over_the_videos():
    """Ahead by 0.1 on an easy and on a hard video: paired, the lead is certain, however far apart the
    videos' scores are; with two videos the interval spans their two differences."""
    assert paired_interval([0.9, 0.1], [0.8, 0.0]) == pytest.approx((0.1, 0.1))
    assert paired_interval([0.9, 0.7], [0.2, 0.4]) == pytest.approx((0.3, 0.7))


def test_each_method_meets_each_baseline_at_its_best_level_on_the_videos_both_have():
    rows = []

    def scored(method: str, level: str, f1: dict[str, float]) -> None:
        rows.extend({"method": method, "video_id": video, "pred_level": level, "truth_level": "0", "f1_0.5s": value}
                    for video, value in f1.items())

    scored("run-a", "0", {"v1": 0.2, "v2": 0.3, "v3": 0.4})
    scored("run-a", "1", {"v1": 0.8, "v2": 0.9, "v3": 0.7})  # its best level
    scored("run-a", "tree", {"v1": float("nan")})  # the whole tree has no boundary F1: left out
    scored("baseline:uniform", "0", {"v1": 0.5, "v2": 0.6})  # v3 not scored
    scored("baseline:kernel", "0", {"v1": 0.9, "v2": 0.9, "v3": 0.9})
    table = margins(pd.DataFrame(rows), ["f1_0.5s"]).set_index("baseline")
    assert list(table["method"]) == ["run-a", "run-a"]
    uniform, kernel = table.loc["baseline:uniform"], table.loc["baseline:kernel"]
    assert (uniform.method_level, uniform.baseline_level, uniform.videos) == ("1", "0", 2)
    assert (uniform.margin, uniform.low, uniform.high) == pytest.approx((0.3, 0.3, 0.3))
    assert (kernel.method_score, kernel.baseline_score, kernel.videos) == pytest.approx((0.8, 0.9, 3))
    assert (kernel.margin, kernel.low, kernel.high) == pytest.approx((-0.1, -0.2, 0.0))  # differences -0.1, 0, -0.2
    assert "-0.100" in format_margins(table.reset_index())
