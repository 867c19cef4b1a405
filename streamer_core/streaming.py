"""The per-sample step of STREAMER over a batch of independent streams (videos).

Each stream carries its own per-level state; the model's modules are shared, so B streams
advance in one batched forward pass (inference). Learning attaches a `Learner` and uses one
stream at a time, as the algorithm learns from a single ordered stream. Whoever watches with the
streamer does so through its hooks (streamer_core.hooks): `Watching` infers, a `Learner` learns."""
from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from streamer_core import cuts
from streamer_core.buffer import WorkingSet
from streamer_core.demarcation import Demarcation
from streamer_core.hierarchy import Hierarchy
from streamer_core.histograms import colour_histograms, edge_histograms
from streamer_core.hooks import Hooks, Watching
from streamer_core.inputs import to_model_input
from streamer_core.loss import prediction_loss
from streamer_core.model import StreamerModel
from streamer_core.placement import Placement
from streamer_core.state import LevelState, StreamState
from streamer_core.timing import start_offset_s


@dataclass
class StreamSource:
    """A video to segment: its id, its duration if known, and chunks of samples in order."""
    video_id: str
    chunks: Iterable[Any]
    duration_s: float | None = None


class Streamer:
    def __init__(self, model: StreamerModel, hooks: Hooks | None = None):
        self.model, self.cfg = model, model.cfg
        self.hooks = Watching(model) if hooks is None else hooks
        self.placement = Placement(model)

    # ---- stream lifecycle -------------------------------------------------------------
    def new_stream(self, video_id: str) -> StreamState:
        c = self.cfg
        levels = [LevelState(WorkingSet(c.buffer_size),
                             Demarcation(c.demarcation, c.loss == "mse", c.window_size, c.modifier, c.threshold,
                                         c.z_threshold, c.min_event))
                  for _ in range(c.max_layers)]
        return StreamState(video_id, levels, colours=deque(maxlen=max(2, c.gradual_span + 1)))

    def finish(self, stream: StreamState, duration_s: float | None = None) -> Hierarchy:
        """Closes every level at the end of the video and returns its hierarchy; the stream's
        working sets are released (learned parameters persist)."""
        active = int(self.model.active_levels)
        for level in range(active):
            state = stream.levels[level]
            z = self._current_z(stream, level)
            state.embeddings.append(z.detach().float().cpu().numpy() if z is not None else np.zeros(0, np.float32))
        left = []
        for state in stream.levels:
            left += state.working_set.clear()
            state.forget()
        self.hooks.end_stream(left)
        duration = stream.samples_seen * self.cfg.snippet_size if duration_s is None else duration_s
        boundaries = [s.boundaries for s in stream.levels[:active]]
        embeddings = [s.embeddings for s in stream.levels[:active]]
        if self.cfg.refine and stream.inputs:
            boundaries, embeddings = self.placement.placed(stream, boundaries)
        offset = start_offset_s(self.cfg.cut_at, self.cfg.input_kind, self.cfg.snippet_size)
        if offset:
            boundaries = [[t - offset for t in level] for level in boundaries]
        return Hierarchy.from_boundaries(stream.video_id, duration, boundaries, embeddings,
                                         [s.scores for s in stream.levels[:active]], stream.changes)


    def run(self, sources: list[StreamSource]) -> Iterator[Hierarchy]:
        """Advances all sources together, one sample each per step, and yields each video's
        hierarchy as soon as its stream ends."""
        pending = [(src, self.new_stream(src.video_id), _samples(src.chunks)) for src in sources]
        while pending:
            batch, still = [], []
            for src, stream, it in pending:
                sample = next(it, None)
                if sample is None:
                    yield self.finish(stream, src.duration_s)
                else:
                    batch.append((stream, sample))
                    still.append((src, stream, it))
            pending = still
            if batch:
                self.step([st for st, _ in batch], _stacked([s for _, s in batch], self.model))

    def learn(self, source: StreamSource) -> Hierarchy:
        """Learns from one video's stream, in order, through the hooks (a Learner), and returns
        the hierarchy it cut. Samples are encoded a window at a time (`hooks.window`); after
        a step the rest of the window is encoded again with the new weights."""
        self.model.train()
        stream = self.new_stream(source.video_id)
        for window in model_inputs(source.chunks, self.hooks.window, self.model):
            while len(window):
                used = 0
                for x, item in zip(window, self.hooks.encode(window)):
                    used += 1
                    if self.step([stream], x[None], [item]):
                        break
                window = window[used:]
        return self.finish(stream, source.duration_s)

    # ---- one step ---------------------------------------------------------------------
    def step(self, streams: list[StreamState], x: torch.Tensor, items: list[Any] | None = None) -> bool:
        """Feeds one model-input sample to each stream (x [B, ...]); `items`: x already encoded.
        Returns whether the hooks changed the weights (a learning step)."""
        with torch.set_grad_enabled(self.hooks.grad):
            if items is None:
                items = self.hooks.encode(x)
            spans = self._transitions(streams, x)
            if self.cfg.refine:
                for stream, vector, span in zip(streams, self._embed(0, items).detach().float().cpu().numpy(),
                                                spans or [0] * len(streams)):
                    stream.inputs.append(vector.copy())  # a row view would keep the whole batch
                    stream.hard_cuts += range(stream.samples_seen - span + 1, stream.samples_seen + 1)
                if self.cfg.input_kind == "features" and (self.cfg.refine_columns or self.cfg.refine_neighbours):
                    for stream, row in zip(streams, x.detach().float().cpu().numpy()):
                        stream.rows.append(row.copy())  # a row of its own, as above
                if self.cfg.input_kind == "frames":
                    self._measure(streams, x)
            self._advance(0, streams, x, items, spans and [span > 0 for span in spans])
        for stream in streams:
            stream.samples_seen += 1
        def live() -> list[Any]:  # listed only when the hooks ask (learning), not at every inference step
            return [item for stream in streams for state in stream.levels for item in state.reachable()]

        if self.hooks.end_sample(live, [stream.levels[0].working_set.items for stream in streams]):
            for stream in streams:
                for state in stream.levels:
                    state.forget()
            return True
        return False

    def _measure(self, streams: list[StreamState], x: torch.Tensor) -> None:
        """Keeps each frame's colour and edge histograms (model.refine_colour, model.refine_edges)."""
        frames = x.detach().cpu().float().contiguous().numpy()  # once for both (decoded: [N, H, W, 3] in memory)
        for weight, kept, histograms in ((self.cfg.refine_colour, "histograms", colour_histograms),
                                         (self.cfg.refine_edges, "edges", edge_histograms)):
            if weight:
                for stream, row in zip(streams, histograms(frames)):
                    getattr(stream, kept).append(row.copy())  # a row of its own, as above

    def _transitions(self, streams: list[StreamState], x: torch.Tensor) -> list[int] | None:
        """Per stream: does a hard cut (1) or a gradual transition over k inputs (k) end at this input
        (streamer_core.cuts)? 0 where none; None when model.hard_cut is 0."""
        if not self.cfg.hard_cut:
            return None
        shift = self.cfg.hard_cut_shift
        colours = cuts.comparable(x.detach(), shift)
        seen = [k for k, s in enumerate(streams) if s.colours]
        spans = [0] * len(streams)
        if seen:
            before = torch.stack([streams[k].colours[-1] for k in seen])
            for k, value in zip(seen, cuts.compared(before, colours[seen], shift).tolist()):
                streams[k].changes.append(value)
                spans[k] = int(value > self.cfg.hard_cut)
        for k, (stream, c) in enumerate(zip(streams, colours)):
            stream.colours.append(c.clone())  # a row of its own, as above (32 px thumbnails are the input)
            if self.cfg.gradual_span and not spans[k]:
                spans[k] = cuts.gradual_span(stream.colours, stream.changes, self.cfg.hard_cut, shift)
        return spans

    def _advance(self, level: int, streams: list[StreamState], targets: torch.Tensor, items: list[Any],
                 hard: list[bool] | None = None) -> None:
        """One input for `level` in each stream: score the prediction made for it, cut an event
        where demarcation says so (sending the representation up), store it, predict again.
        `hard[i]` (not in the paper) ends stream i's event at this level too: at level 0 the input
        is a hard cut (`hard_cut`), which also ends the event above; above, the input comes from a
        cut below whose strength reached `escalate`."""
        states = [s.levels[level] for s in streams]
        scores, errors = self._score(level, streams, targets)
        if level == int(self.model.active_levels) - 1:
            self.hooks.top_inputs(len(streams))
        escalate = self.cfg.escalate
        up_streams, up_inputs, up_hard = [], [], []
        for k, (stream, state, score) in enumerate(zip(streams, states, scores)):
            forced = self.cfg.force_fixed_buffer and state.working_set.full
            decided = state.demarcation.decide(score) if score is not None else False
            if score is not None:
                state.scores.append(score)
            escalated = hard is not None and hard[k]
            if not (decided or forced or escalated):
                continue
            state.demarcation.mark_boundary()
            state.boundaries.append(stream.samples_seen * self.cfg.snippet_size)
            if not len(state.working_set):  # a hard cut before this level's first input: the event
                state.embeddings.append(items[k].detach().float().cpu().numpy())  # is the one below
                continue
            z = self._current_z(stream, level).detach()
            state.embeddings.append(z.float().cpu().numpy())
            if level + 1 < int(self.model.active_levels):
                up_streams.append(stream)
                up_inputs.append(z)
                climbs = escalate > 0 and score is not None and state.demarcation.strength >= escalate
                up_hard.append(climbs or (level == 0 and escalated))
            self.hooks.release(state.working_set.clear())
        if up_streams:
            self._advance(level + 1, up_streams, torch.stack(up_inputs), list(up_inputs), up_hard)
        for stream, state, item, error in zip(streams, states, items, errors):
            _, evicted = state.working_set.add(item, error)
            self.hooks.release(evicted)
            state.last_input = stream.samples_seen
        self._represent(level, streams)
        self._predict(level, streams)

    def _score(self, level: int, streams: list[StreamState], targets: torch.Tensor
               ) -> tuple[list[float | None], list[float | None]]:
        """Demarcation score and replacement error of each stream's new input (None without a prediction)."""
        scores: list[float | None] = [None] * len(streams)
        errors: list[float | None] = [None] * len(streams)
        ready = [i for i, s in enumerate(streams) if s.levels[level].prediction is not None]
        if not ready:
            return scores, errors
        predictions = torch.stack([streams[i].levels[level].prediction for i in ready])
        loss, score = prediction_loss(self.cfg.loss, predictions, targets[ready])
        timescales = [streams[i].samples_seen - streams[i].levels[level].last_input for i in ready]
        self.hooks.record(level, loss, timescales, int(self.model.active_levels))
        for k, i in enumerate(ready):
            scores[i], errors[i] = float(score[k]), float(loss[k].detach())
        return scores, errors

    def _current_z(self, stream: StreamState, level: int) -> torch.Tensor | None:
        state = stream.levels[level]
        if state.z is None and len(state.working_set):
            self._represent(level, [stream])
        return state.z

    def _represent(self, level: int, streams: list[StreamState]) -> None:
        """z = f(working set) for each stream, padded to the longest set."""
        sets = [self._embed(level, s.levels[level].working_set.items) for s in streams]
        longest = max(len(e) for e in sets)
        inputs = torch.stack([torch.nn.functional.pad(e, (0, 0, 0, longest - len(e))) for e in sets])
        pad = None
        if any(len(e) < longest for e in sets):
            pad = torch.tensor([[k >= len(e) for k in range(longest)] for e in sets], device=inputs.device)
        z = self.model.temporal[level](inputs, pad)  # [B, D]
        for stream, zi in zip(streams, z):
            state = stream.levels[level]
            state.z, state.z_inputs = zi, list(state.working_set.items)

    def _embed(self, level: int, items: list[Any]) -> torch.Tensor:
        return self.hooks.embed(items) if level == 0 else torch.stack(items)  # [S, D]

    def _predict(self, level: int, streams: list[StreamState]) -> None:
        """Each stream's prediction for this level from the representations of all its levels."""
        active = int(self.model.active_levels)
        rows, ids, own = [], [], []
        for stream in streams:
            present = [j for j in range(active) if stream.levels[j].z is not None]
            reps = [self.hooks.scale(stream.levels[j].z, level, j, active) for j in present]
            rows.append(torch.stack(reps))
            ids.append(present)
            own.append(present.index(level))
        longest = max(len(r) for r in rows)
        reps = torch.stack([torch.nn.functional.pad(r, (0, 0, 0, longest - len(r))) for r in rows])
        device = reps.device
        levels = torch.tensor([i + [0] * (longest - len(i)) for i in ids], device=device)
        pad = None
        if any(len(i) < longest for i in ids):
            pad = torch.tensor([[k >= len(i) for k in range(longest)] for i in ids], device=device)
        vectors = self.model.predictors[level](reps, levels, torch.tensor(own, device=device), pad)
        predictions = self.model.decoder(vectors) if level == 0 else vectors
        for stream, prediction, present in zip(streams, predictions, ids):
            state = stream.levels[level]
            state.prediction = prediction
            state.prediction_inputs = [item for j in present for item in stream.levels[j].z_inputs]


def _samples(chunks: Iterable[Any]) -> Iterator[Any]:
    for chunk in chunks:
        yield from chunk


def _stacked(samples: list[Any], model: StreamerModel) -> torch.Tensor:
    stacked = np.stack(samples) if isinstance(samples[0], np.ndarray) else torch.stack(samples)
    return to_model_input(stacked, model.cfg, model.device, model.dtype)


def model_inputs(chunks: Iterable[Any], size: int, model: StreamerModel) -> Iterator[torch.Tensor]:
    """One stream's samples as model input, `size` at a time (the last window may be shorter)."""
    samples = _samples(chunks)
    while window := list(itertools.islice(samples, size)):
        yield _stacked(window, model)
