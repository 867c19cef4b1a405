"""Training shares by duration: durations read from real containers' headers (MP4, Matroska, .npy;
local and from SeaweedFS) against what decoding finds, and the split against the plain one by size
on a corpus where bytes and seconds disagree."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.bad_files import write_files
from helpers.segment import BAD_FILES

from pipelines.data import storage
from pipelines.data.corpus import balance, list_corpus
from pipelines.data.decode import FrameClock, open_video
from pipelines.sample.corpus import CorpusOptions, write_corpus
from pipelines.train.shares import read_durations, shares


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Short detailed 128 px clips (many bytes) and long flat 32 px ones (few), an MKV, bad files, a .npy."""
    root = tmp_path_factory.mktemp("shares")
    write_corpus(root / "sharp", CorpusOptions(videos=3, min_duration_s=4, max_duration_s=6, size=128))
    write_corpus(root / "flat", CorpusOptions(videos=3, seed=1, min_duration_s=20, max_duration_s=30, size=32,
                                              style="flat", fps=(10.0,)))
    write_corpus(root / "mkv", CorpusOptions(videos=1, min_duration_s=6, max_duration_s=6, size=32, lossless=True))
    write_files(root, BAD_FILES)
    np.save(root / "stream.npy", np.zeros((40, 8), np.float32))
    return root


def test_durations_are_the_decoders(corpus):
    rows = list_corpus(str(corpus))
    durations = read_durations(rows, snippet_size=0.5)
    assert set(BAD_FILES).isdisjoint(durations) and durations["stream.npy"] == 20.0
    videos = [r for r in rows if r.kind == "video" and r.video_id not in BAD_FILES]
    assert len(videos) == 7 and set(r.video_id for r in videos) <= set(durations)
    for row in videos:
        with open_video(row.uri) as reader:
            assert durations[row.video_id] == pytest.approx(FrameClock.of(reader).duration_s, abs=0.05), row


def test_shares_by_duration_are_even_where_shares_by_size_are_not(corpus):
    rows = [r for r in list_corpus(str(corpus)) if r.video_id.startswith(("sharp", "flat"))]
    durations = read_durations(rows, snippet_size=0.5)

    def seconds(parts):
        return [sum(durations[r.video_id] for r in part) for part in parts]

    by_size, by_duration = seconds(balance(rows, 2)), seconds(shares(rows, 2, durations))
    assert max(by_size) - min(by_size) > 20  # a worker with every sharp clip and one flat: seconds apart
    assert max(by_duration) - min(by_duration) <= max(durations.values())  # greedy LPT's bound
    assert max(by_duration) < max(by_size)
    assert shares(rows, 2, durations) == shares(list(reversed(rows)), 2, durations)  # the same on every rank


def test_unknown_durations_weigh_their_size_at_the_corpus_rate(corpus):
    rows = list_corpus(str(corpus))
    durations = read_durations(rows, snippet_size=0.5)
    parts = shares(rows, 3, durations)
    assert sorted(r.video_id for part in parts for r in part) == sorted(r.video_id for r in rows)
    assert shares(rows, 1, {}) == balance(rows, 1)  # nothing known: the plain split by size


@pytest.mark.slow
def test_durations_read_from_s3_match_the_local_ones(corpus, upload_corpus, s3_server):
    local = read_durations(list_corpus(str(corpus)), 0.5)
    prefix = upload_corpus(corpus)
    remote = read_durations(list_corpus(prefix, s3_server.settings()), 0.5, s3_server.settings())
    assert remote == local and storage.is_s3(prefix)
