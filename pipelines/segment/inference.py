"""One-line inference over files, as STREAMER's own documentation shows it, with no Ray and no store:

    from pipelines import InferenceModel
    model = InferenceModel(checkpoint="model.pt")            # or s3://...; loaded once
    hierarchy = model(filename="cooking.mp4")                # a streamer_core.Hierarchy
    hierarchies = model(filename=["a.mp4", "s3://b/c.mp4"])  # advanced together, in this order

It runs the segment job's own code on each call (`segmenter.segment_rows`: decoding ahead in a
thread per file, one batched forward pass per sample), so a file gives the events the job would
write for it with the same checkpoint.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from pipelines.cli import UserError
from pipelines.data.corpus import ManifestRow, kind_of
from pipelines.data.decode import DecodeSettings
from pipelines.data.storage import S3Settings
from pipelines.segment.segmenter import VideoResult, load_model, segment_rows
from streamer_core import Hierarchy, InputError

PRECISIONS = ("float32", "bfloat16", "auto")


def file_rows(filenames: Sequence[str | os.PathLike]) -> list[ManifestRow]:
    """Manifest rows for files named by the caller: each file is its own video id."""
    names = [os.fspath(f) for f in filenames]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"file given more than once: {', '.join(repeated)}")
    return [ManifestRow(video_id=n, uri=n, size=0, etag="", kind=kind_of(n) or "video") for n in names]


class InferenceModel:
    """A trained checkpoint, loaded once, that segments the files it is called with."""

    def __init__(self, checkpoint: str | os.PathLike, device: str = "cpu", precision: str | None = None,
                 chunk_frames: int = 64, s3: S3Settings | None = None, placement: dict[str, float | int] | None = None):
        if precision not in (None, *PRECISIONS):
            raise UserError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)} (or None: "
                            "the checkpoint's)")
        self.s3 = s3 or S3Settings.from_env()
        loaded = load_model(os.fspath(checkpoint), self.s3, placement=placement)  # e.g. {"refine": 0.3}
        self.model, self.version = loaded.model.to(device), loaded.version
        if precision:  # the weights are float32 either way; this picks the arithmetic
            self.model.compute_in(precision)
        self.decode = DecodeSettings.for_model(self.model.cfg, chunk_frames=chunk_frames)

    def results(self, filenames: Sequence[str | os.PathLike]) -> Iterator[VideoResult]:
        """One result per file as each ends, a failed one naming its file; never raises for a bad file."""
        return segment_rows(self.model, file_rows(filenames), self.decode, self.s3)

    def __call__(self, filename: str | os.PathLike | Sequence[str | os.PathLike]) -> Hierarchy | list[Hierarchy]:
        """The hierarchy of one file, or of each file of a list (in its order); an InputError
        naming every file that could not be segmented."""
        single = isinstance(filename, (str, os.PathLike))
        names = [os.fspath(f) for f in ([filename] if single else filename)]
        by_name = {r.video_id: r for r in self.results(names)}
        failed = [by_name[n].error for n in names if by_name[n].status != "ok"]
        if failed:
            raise InputError("; ".join(failed))
        hierarchies = [by_name[n].hierarchy() for n in names]
        return hierarchies[0] if single else hierarchies
