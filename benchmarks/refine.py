"""Seconds the end-of-video pass takes on an hour of inputs, timed alone (once per video, at its end).

    python benchmarks/refine.py [--inputs 7200] [--events 450] [--repeat 3] [--kernel laplace]

An hour at 0.5 s is 7,200 inputs; the synthetic stream holds `--events` events of random lengths,
each a level of its own plus noise. Timed: level 0's pass (`streamer_core.refine.refined_cuts`)
over the embeddings at D=32 (tiny-default) and D=1024 (default) with the colour and edge
histograms as two more parts, as on video (each part's kernel `--kernel`, by default the recommended
presets' for frames); over a 36-column feature stream, one part per column beside the embeddings,
without and with the rows' neighbour graph (the rows as they are, and with a cycle of 4 rows added to them,
so that the graph links windows of 4 rows: `model.refine_cycles`), and with its cuts then moved to their posterior
mean place (`model.refine_posterior`); and level 1 of that stream as periods
(`streamer_core.periods.period_starts`).
Prints one JSON line: the best of `--repeat` runs of each, in seconds."""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from streamer_core.config import IMPROVED_DEMARCATION
from streamer_core.histograms import BINS, EDGE_BINS
from streamer_core.neighbours import row_graph
from streamer_core.periods import period_starts
from streamer_core.refine import column_parts, part_kernel, refined_cuts

# tiny-default's refine and refine_periods; events of at least 2 inputs where the presets ask 4, which the
# README's numbers were taken at: the kernel's matrices are the time, the same at either (600 inputs, 44th round)
PENALTY, MIN_EVENT, PERIODS_PENALTY = 0.2, 2, 0.5


def piecewise(starts: np.ndarray, inputs: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """[inputs, width] rows: a random level for each event (``starts``: where each but the first
    begins) plus noise."""
    levels = rng.normal(0, 1, (len(starts) + 1, width))
    owner = np.searchsorted(starts, np.arange(inputs), side="right")
    return (levels[owner] + rng.normal(0, 0.5, (inputs, width))).astype(np.float32)


def graph_pass(features: list, rows: np.ndarray, posterior: float = 0.0) -> list[int]:
    """Level 0's feature pass with the rows' neighbour graph as the recommended presets draw it, its
    cuts then moved to their posterior mean place at temperature ``posterior`` (0: left where they are)."""
    graph = row_graph(rows, IMPROVED_DEMARCATION["refine_neighbours"], IMPROVED_DEMARCATION["refine_cycles"])
    return refined_cuts(features, [], PENALTY, MIN_EVENT, "rbf", graph, posterior)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=7200)
    parser.add_argument("--events", type=int, default=450)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kernel", choices=("rbf", "laplace"),
                        default=part_kernel(IMPROVED_DEMARCATION["refine_kernel"], "frames"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    starts = np.sort(rng.choice(np.arange(1, args.inputs), args.events - 1, replace=False))
    colours, edges = (piecewise(starts, args.inputs, width, rng) for width in (BINS ** 3, 3 * EDGE_BINS))
    result = {"inputs": args.inputs, "events": args.events, "video_kernel": args.kernel}
    for width in (32, 1024):
        embeddings = piecewise(starts, args.inputs, width, rng)
        video = [(embeddings, 1.0), (colours, 1.0), (edges, 1.0)]
        refined_cuts(video[:1], [], PENALTY, MIN_EVENT)  # compiles, or loads the compiled pass
        timed = partial(refined_cuts, video, [], PENALTY, MIN_EVENT, args.kernel)
        result[f"video_d{width}_s"] = best_of(args.repeat, timed)
    rows = piecewise(starts, args.inputs, 36, rng)
    features = [(piecewise(starts, args.inputs, 32, rng), 1.0), *column_parts(rows, 1.0)]
    result["features_36_columns_s"] = best_of(args.repeat, partial(refined_cuts, features, [], PENALTY, MIN_EVENT))
    cycling = rows + np.tile(3 * rng.normal(size=(4, 36)), (-(-args.inputs // 4), 1))[:args.inputs]
    for name, graph_rows in (("graph", rows), ("graph_cycle", cycling)):
        result[f"features_36_columns_{name}_s"] = best_of(args.repeat, partial(graph_pass, features, graph_rows))
    posterior = partial(graph_pass, features, rows, IMPROVED_DEMARCATION["refine_posterior"])
    result["features_36_columns_graph_posterior_s"] = best_of(args.repeat, posterior)
    level0 = [0, *starts.tolist(), args.inputs]
    result["features_periods_s"] = best_of(args.repeat, partial(period_starts, features, level0, PERIODS_PENALTY))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
