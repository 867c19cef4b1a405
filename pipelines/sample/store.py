"""The built-in default input: the sample corpus in the local SeaweedFS store.

Jobs run with no input use it (`with_default_input`): `default_store()` starts the store (state in
`<state_dir>/s3`) unless it is already running, and generates and uploads the sample corpus
unless the bucket already holds it (its `truth.csv`, uploaded last, marks a complete upload).
The store keeps running after a local job, for the next one; `python -m pipelines.runtime.local_s3
stop --state-dir .state/s3` stops it. Under `ray job submit` it ends with the job that started it
(every process a job starts ends with the job; the next job starts it again on the same data),
and its data lives in the state folder, ~/.streamer/state there (`tracking.state_dir`).
"""
from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass

from botocore.exceptions import ClientError

from pipelines.data import storage
from pipelines.data.storage import S3Settings
from pipelines.runtime.cluster import in_ray_job
from pipelines.runtime.local_s3 import load_state, start_server
from pipelines.runtime.tracking import state_dir
from pipelines.sample.corpus import TRUTH_FILE, CorpusOptions, write_corpus
from streamer_core import Config

SAMPLE_BUCKET = "streamer-sample"


@dataclass(frozen=True)
class DefaultStore:
    corpus: str  # s3://streamer-sample/corpus (truth.csv at its root)
    checkpoints: str  # s3://streamer-sample/checkpoints
    results: str  # s3://streamer-sample/results
    settings: S3Settings  # the local store's endpoint and keys, for drivers and workers

    @property
    def truth(self) -> str:
        return storage.join(self.corpus, TRUTH_FILE)


def default_store(options: CorpusOptions | None = None) -> DefaultStore:
    """The local store, started if needed, holding the sample corpus."""
    folder = state_dir() / "s3"
    server = load_state(folder) or start_server(folder, tied=in_ray_job())
    store = DefaultStore(f"s3://{SAMPLE_BUCKET}/corpus", f"s3://{SAMPLE_BUCKET}/checkpoints",
                         f"s3://{SAMPLE_BUCKET}/results", server.settings())
    client = storage.s3_client(store.settings)
    try:
        client.head_bucket(Bucket=SAMPLE_BUCKET)
    except ClientError:
        client.create_bucket(Bucket=SAMPLE_BUCKET)
    try:
        client.head_object(Bucket=SAMPLE_BUCKET, Key=storage.split_s3(store.truth)[1])
    except ClientError:
        with tempfile.TemporaryDirectory(prefix="sample-corpus-") as folder:
            write_corpus(folder, options or CorpusOptions())
            storage.upload_dir(folder, store.corpus, store.settings)
    return store


def reading_store(cfg: Config, store: DefaultStore) -> Config:
    """`cfg` learning the store's sample corpus, with its checkpoints in the store unless `cfg`
    names a folder of its own."""
    return dataclasses.replace(
        cfg, data=dataclasses.replace(cfg.data, input=store.corpus),
        train=dataclasses.replace(cfg.train, checkpoint_dir=cfg.train.checkpoint_dir or store.checkpoints))


def with_default_input(cfg: Config, resume: bool = False) -> tuple[Config, S3Settings | None]:
    """The training job's default: with no `data.input`, the sample corpus in the local store
    (started, and the corpus uploaded, if needed) and the store's settings for the workers. A
    resumed run with a checkpoint folder needs no input: it continues its own recorded videos."""
    if cfg.data.input or (resume and cfg.train.checkpoint_dir):
        return cfg, None
    store = default_store()
    return reading_store(cfg, store), store.settings


def segmenting_store(checkpoint: str | None) -> tuple[str, DefaultStore]:
    """The segment job's default, the counterpart of `with_default_input`: the store's sample
    corpus into its results, with `checkpoint` or else the last model trained on the sample
    corpus (its checkpoints' latest.json), so that `jobs/segment.py` alone follows `jobs/train.py`."""
    from pipelines.cli import UserError
    from pipelines.train.publish import LATEST_FILE, read_json

    store = default_store()
    if checkpoint:
        return checkpoint, store
    try:
        return read_json(storage.join(store.checkpoints, LATEST_FILE), store.settings)["model"], store
    except FileNotFoundError:
        raise UserError("no model trained on the sample corpus yet: run jobs/train.py first, "
                        "or give --checkpoint") from None
