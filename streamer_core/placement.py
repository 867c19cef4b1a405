"""The hierarchy placed again at the end of a video (model.refine; not in the paper). The streamer
cuts online, where its predictions fail; on unseen footage those cuts were no better than uniform
ones (docs/quality-log.md), so once a video has ended, its levels are placed again from what the
stream kept (streamer_core.state.StreamState): refinement's kernel pass over level 0's inputs and
cues (streamer_core.refine), the confirmed hard cuts (streamer_core.cuts), the periods of a feature
stream (streamer_core.periods), and every event embedded again by its level's f."""
from __future__ import annotations

import numpy as np
import torch

from streamer_core import cuts
from streamer_core.model import StreamerModel
from streamer_core.neighbours import Graph, row_graph
from streamer_core.periods import period_starts
from streamer_core.refine import column_parts, part_kernel, posterior_temperature, refined_cuts
from streamer_core.state import StreamState


class Placement:
    def __init__(self, model: StreamerModel):
        self.model, self.cfg = model, model.cfg

    def placed(self, stream: StreamState, boundaries: list[list[float]]) -> tuple[list[list[float]], list]:
        """The hierarchy placed again at the end of the video (streamer_core.refine), bottom up: the
        first `refine_levels` levels each by the kernel pass over its inputs (level 0's: the
        encoder's embeddings of the samples, with their colour and edge histograms (or the feature
        rows' columns) as parts of the kernel weighed `refine_colour` and `refine_edges` (or
        `refine_columns`) to the embeddings' 1, and the rows' neighbour graph at
        `refine_neighbours`, each event at least `refine_min_event` inputs (or `min_event`), a feature
        stream's cuts then moved to their posterior mean place at `refine_posterior`; a
        level above: the events of the one below, at
        least two of them to an event, at the penalty `refine_coarse`; on feature streams, with
        no hard cuts to carry it, `refine_coarse` places level 1 too, or `refine_periods` places it
        as periods of few kinds of level-0 event: streamer_core.periods), hard
        cuts kept at levels 0 and 1 where the video (its changes; its colours, when kept) confirms
        them. A cut of a level above those moves to the nearest re-placed cut within `min_event`
        samples, else (and at a transition the video does not confirm) it is dropped; when level 0,
        the only re-placed level, has no cut at all, the cuts above stay and the levels below cut
        there too, so every level nests in the one below (when a re-placed level above 0 has none,
        the pass found its inputs one event, and the levels above have none either). Every event
        is then embedded again by its level's f over the last working set's worth of its inputs.
        Returns (boundaries, embeddings) per level."""
        levels = self.cfg.refine_levels
        if (self.cfg.refine_coarse or self.cfg.refine_periods) and self.cfg.input_kind == "features":
            levels = max(levels, 2)  # no hard cuts carry a feature stream's level 1
        snippet, count = self.cfg.snippet_size, min(levels, len(boundaries))
        samples = np.stack(stream.inputs)
        colours = np.stack(stream.histograms) if stream.histograms else None
        cues, graph = self._cues(stream, colours)
        hard = cuts.confirmed_cuts(stream.hard_cuts, stream.changes, colours)
        kernel = part_kernel(self.cfg.refine_kernel, self.cfg.input_kind)
        posterior = posterior_temperature(self.cfg.refine_posterior, self.cfg.input_kind)
        kept = set(hard)
        doubted = {s for run in cuts.transition_runs(stream.hard_cuts) if kept.isdisjoint(run) for s in run}
        placed: list[set[int]] = []  # per re-placed level: the samples where its events start
        inputs, starts, found = samples, np.arange(len(samples)), []
        for level in range(count):
            if level:  # this level's inputs: the events of the one below
                edges = [0, *found, len(inputs)]
                inputs, starts = self._events(level - 1, inputs, edges), starts[edges[:-1]]
            forced = np.flatnonzero(np.isin(starts, hard)) if level < 2 else []
            minimum = 2 if level else max(2, self.cfg.refine_min_event or self.cfg.min_event)
            parts = [(inputs, 1.0), *(cues if level == 0 else [])]
            penalty = self.cfg.refine if level == 0 else self.cfg.refine_coarse or self.cfg.refine
            if level == 1 and self.cfg.refine_periods and self.cfg.input_kind == "features":
                found = period_starts([(samples, 1.0), *cues], edges, self.cfg.refine_periods, kernel)
            else:
                found = refined_cuts(parts, forced, penalty, minimum, kernel, graph if level == 0 else None,
                                     posterior if level == 0 else 0.0)
            placed.append({int(starts[i]) for i in found})
        above = [self._moved(level, placed[-1], doubted, count == 1) for level in boundaries[count:]]
        final = [sorted(level) for level in placed + above]
        for level in reversed(range(len(final) - 1)):  # a level's cuts are cuts of every level below
            final[level] = sorted(set(final[level]) | set(final[level + 1]))
        return [[i * snippet for i in level] for level in final], self._embedded(samples, final)

    def _cues(self, stream: StreamState, colours: np.ndarray | None) -> tuple[list, Graph]:
        """Level 0's parts beside the embeddings (the colour and edge histograms, or each column of the
        feature rows, at their weights) and the feature rows' neighbour graph (None without rows)."""
        edge_rows = np.stack(stream.edges) if stream.edges else None
        cues = [(rows, weight) for rows, weight in ((colours, self.cfg.refine_colour),
                                                    (edge_rows, self.cfg.refine_edges)) if rows is not None]
        rows = np.stack(stream.rows) if stream.rows else None
        if rows is None:
            return cues, None
        cues += column_parts(rows, self.cfg.refine_columns)
        return cues, row_graph(rows, self.cfg.refine_neighbours, self.cfg.refine_cycles)

    def _moved(self, times: list[float], placed: set[int], doubted: set[int], alone: bool) -> set[int]:
        """A level above the re-placed ones: each cut (seconds; none at a transition the video does not
        confirm, ``doubted``) moved to the nearest re-placed cut of ``placed`` within `min_event` samples,
        else dropped. When level 0 is re-placed ``alone`` and has no cut, the cut stays where it is."""
        moved = set()
        for index in (round(t / self.cfg.snippet_size) for t in times):
            if index in doubted:
                continue
            near = min(placed, key=lambda i: abs(i - index), default=index if alone else None)
            if near is not None and abs(near - index) <= self.cfg.min_event:
                moved.add(near)
        return moved

    def _embedded(self, samples: np.ndarray, final: list[list[int]]) -> list[list]:
        """Every event of each level (``final``: the samples where they start) embedded again by its
        level's f, bottom up (_events)."""
        embeddings, inputs, starts = [], samples, np.arange(len(samples))
        for level, at in enumerate(final):
            edges = [0, *np.searchsorted(starts, at).tolist(), len(inputs)]
            inputs, starts = self._events(level, inputs, edges), starts[edges[:-1]]
            embeddings.append(list(inputs))
        return embeddings

    def _events(self, level: int, inputs: np.ndarray, edges: list[int]) -> np.ndarray:
        """[E, D] representations of the events [edges[k], edges[k+1]) of a level's inputs [N, D]:
        its f over each event's last `buffer_size` inputs (what the working set held at its end)."""
        sets = [torch.as_tensor(inputs[max(a, b - self.cfg.buffer_size):b]) for a, b in zip(edges[:-1], edges[1:])]
        longest = max(len(x) for x in sets)
        padded = torch.stack([torch.nn.functional.pad(x, (0, 0, 0, longest - len(x))) for x in sets])
        pad = torch.tensor([[k >= len(x) for k in range(longest)] for x in sets])
        weight = next(self.model.temporal[level].parameters())
        with torch.no_grad():
            z = self.model.temporal[level](padded.to(weight.device, weight.dtype), pad.to(weight.device))
        return z.float().cpu().numpy()
