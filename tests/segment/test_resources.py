"""What segment actors ask Ray for: the plan against given cluster resources (plain Python), the
command's refusals, and on a real local Ray cluster with a logical GPU (scheduling needs no real
one) the actors' granted CPUs and GPUs and the count derived from the cluster."""
from __future__ import annotations

import pytest
from helpers.segment import make_corpus, train_tiny

from pipelines.cli import UserError
from pipelines.data.corpus import list_corpus
from pipelines.data.decode import DecodeSettings
from pipelines.data.feed import VideoFeed
from pipelines.runtime.local_s3 import _free_ports
from pipelines.segment import cli
from pipelines.segment.job import SegmentOptions, segment
from pipelines.segment.resources import ActorPlan, plan_actors
from streamer_core import StreamerModel, load_config
from streamer_core.config import InferenceConfig

CPUS_8 = {"CPU": 8.0}
GPUS_2 = {"CPU": 8.0, "GPU": 2.0}


def test_the_actor_count_comes_from_the_free_resources_unless_given():
    assert plan_actors(CPUS_8, CPUS_8, batches=100) == ActorPlan(7, 1.0, 0.0)  # one CPU kept for Ray Data
    assert plan_actors(CPUS_8, {"CPU": 3.0}, batches=100, cpus=2) == ActorPlan(1, 2.0, 0.0)
    assert plan_actors(CPUS_8, CPUS_8, batches=3) == ActorPlan(3, 1.0, 0.0)  # never more than batches
    assert plan_actors(CPUS_8, CPUS_8, batches=100, actors=2) == ActorPlan(2, 1.0, 0.0)
    assert plan_actors(GPUS_2, GPUS_2, batches=100) == ActorPlan(2, 1.0, 1.0)  # a GPU each by default
    assert plan_actors(GPUS_2, GPUS_2, batches=100, gpus=0.5) == ActorPlan(4, 1.0, 0.5)
    assert plan_actors(GPUS_2, GPUS_2, batches=100, actors=4) == ActorPlan(4, 1.0, 0.5)  # a share each
    assert plan_actors(GPUS_2, GPUS_2, batches=100, gpus=0).device == "cpu"


@pytest.mark.parametrize(("request_", "message"), [
    ({"cpus": -1}, "--cpus-per-actor must be > 0"), ({"cpus": 0}, "--cpus-per-actor must be > 0"),
    ({"gpus": -0.5}, "--gpus-per-actor must be a GPU count Ray grants"), ({"gpus": 1.5}, "above 1 a whole number"),
    ({"gpus": 1}, "--gpus-per-actor 1: the cluster has 0 GPUs"),
    ({"cpus": 16}, "--cpus-per-actor 16: the cluster has 8 CPUs")])
def test_requests_the_cluster_cannot_grant_are_refused(request_, message):
    with pytest.raises(UserError, match=message):
        plan_actors(CPUS_8, CPUS_8, batches=4, **request_)


def test_a_negative_request_is_one_error_line_before_any_work(tmp_path, capsys):
    argv = ["--checkpoint", str(tmp_path / "model.pt"), "--input", str(tmp_path), "--output", str(tmp_path / "out")]
    for flag, value in (("--cpus-per-actor", "-2"), ("--gpus-per-actor", "-1")):
        assert cli.main([*argv, flag, value]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {flag} must be"), err
    assert not (tmp_path / "out").exists()


def test_actors_given_reads_the_flag_the_overrides_and_the_config_file(tmp_path):
    parse = cli.parser().parse_args
    (tmp_path / "c.yaml").write_text("inference:\n  actors: 1\n")
    assert not cli.actors_given(parse([]))
    assert cli.actors_given(parse(["--actors", "1"]))
    assert cli.actors_given(parse(["--set", "inference.actors=1"]))
    assert cli.actors_given(parse(["--config", str(tmp_path / "c.yaml")]))


def test_decoding_stays_on_the_cpu_whatever_the_models_device(tmp_path):
    """The feed converts samples in its CPU thread; only the stacked input moves to the model's device."""
    row = list_corpus(str(make_corpus(tmp_path, videos=1, bad=False)))[0]
    model = StreamerModel(load_config("tiny").model).to("meta")  # a device with no data stands for a GPU
    chunks = list(VideoFeed(row, DecodeSettings.for_model(model.cfg), model))
    assert chunks and all(c.device.type == "cpu" for c in chunks)


@pytest.fixture(scope="module")
def gpu_cluster():
    """A local Ray cluster with 6 logical CPUs and one logical GPU, with its state API (as conftest's)."""
    import ray

    (port,) = _free_ports(1)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_API_SERVER_ADDRESS", f"http://127.0.0.1:{port}")
        ray.init(address="local", num_cpus=6, num_gpus=1, include_dashboard=True, dashboard_port=port)
        try:
            yield
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resources")
    corpus = make_corpus(folder / "corpus", videos=4, bad=False)
    return folder, str(corpus), train_tiny(str(corpus), str(folder / "model.pt"))


@pytest.mark.slow
def test_actors_get_the_cpus_and_gpus_asked_and_their_count_from_the_cluster(gpu_cluster, job):
    from ray.util.state import list_actors

    folder, corpus, checkpoint = job
    summary = segment(SegmentOptions(
        checkpoint=checkpoint, input=corpus, output=str(folder / "out"), plots=0,
        tracking_uri=f"sqlite:///{folder}/mlflow.db", inference=InferenceConfig(batch_videos=1),
        actors_from_cluster=True, cpus_per_actor=2, gpus_per_actor=0.5, device="cpu"))  # no CUDA here
    assert summary.videos_ok == 4 and summary.actors == 2  # (6 - 1) // 2 CPUs, 1 // 0.5 GPUs
    actors = [a for a in list_actors(detail=True, limit=1000) if "SegmentActor" in a.class_name]
    assert len(actors) == 2
    assert all(a.required_resources == {"CPU": 2.0, "GPU": 0.5} for a in actors), actors


@pytest.mark.slow
def test_more_gpus_than_the_cluster_has_is_one_error_line(gpu_cluster, job, capsys):
    folder, corpus, checkpoint = job
    argv = ["--checkpoint", checkpoint, "--input", corpus, "--output", str(folder / "refused"),
            "--tracking-uri", f"sqlite:///{folder}/mlflow.db", "--gpus-per-actor", "2"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: --gpus-per-actor 2: the cluster has 1 GPUs", err
    assert not (folder / "refused").exists()
