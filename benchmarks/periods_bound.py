"""How much of a period corpus's coarse truth the activities themselves tell: what no segmenter can
beat, whatever it learns.

    python benchmarks/periods_bound.py [--corpora periods,periods-1,mocap-periods,...]

A period holds stretches of two or three activities. Where the stretch beside a period change is of
an activity both periods hold, the change could as well be one stretch over: the stream does not say
where it is. For each corpus this prints, as one JSON line, how many changes are like that, and the
boundary F1 at 0.5 s of an oracle told every stretch's true activity and the true number of periods,
which splits each stream into that many periods holding as few kinds as it can (the least summed
entropy of their stretches' activities, exactly, by dynamic programming)."""
from __future__ import annotations

import json
import sys

import numpy as np
from quality import CORPORA, PERIODS, load

from pipelines.cli import Parser, UnknownNameError, command
from pipelines.evaluate.datasets import period_stretches, unclear_period_changes
from streamer_core.metrics import Segmentation, boundary_scores


def fewest_kinds(kinds: list[str], count: int) -> list[int]:
    """The stretch indices where ``count`` periods start (the first excluded) that minimise the
    summed entropy of each period's activities, weighed by its number of stretches."""
    n = len(kinds)

    def cost(a: int, b: int) -> float:
        _, counts = np.unique(kinds[a:b], return_counts=True)
        shares = counts / counts.sum()
        return -float(counts.sum() * (shares * np.log(shares)).sum())

    best = np.full((count + 1, n + 1), np.inf)
    best[0, 0] = 0.0
    start = np.zeros((count + 1, n + 1), dtype=int)
    for k in range(1, count + 1):
        for b in range(k, n + 1):
            options = [best[k - 1, a] + cost(a, b) for a in range(k - 1, b)]
            start[k, b] = k - 1 + int(np.argmin(options))
            best[k, b] = min(options)
    cuts, b = [], n
    for k in range(count, 0, -1):
        b = start[k, b]
        cuts.append(b)
    return sorted(cuts)[1:]


def bound(name: str) -> dict:
    truth = load(name).truth
    unclear, scores = [], []
    for video, levels in sorted(truth.items()):
        kinds, ends, periods = period_stretches(levels)
        unclear += unclear_period_changes(kinds, periods)
        cuts = fewest_kinds(kinds, len(levels[1].spans))
        found = Segmentation.from_boundaries(video, levels[1].duration_s, [ends[i - 1] for i in cuts])
        scores.append(boundary_scores(levels[1], found, 0.5).f1)
    return {"corpus": name, "role": CORPORA[name].role, "changes": len(unclear),
            "unclear_changes": int(sum(unclear)), "oracle_f1_0.5s": round(float(np.mean(scores)), 3)}


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", default="periods,periods-1,mocap-periods,periods-clear,periods-clear-1,"
                                             "mocap-periods-clear")
    names = parser.parse_args(argv).corpora.split(",")
    unknown = [n for n in names if n not in CORPORA or CORPORA[n].levels != PERIODS]
    if unknown:
        raise UnknownNameError(f"not a period corpus: {', '.join(unknown)}")
    for name in names:
        print(json.dumps(bound(name)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
