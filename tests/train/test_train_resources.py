"""`train.gpus_per_worker`: refused when Ray could never grant it, and on a real local Ray cluster
with a logical GPU (scheduling needs no real one) granted to every worker the job's ScalingConfig
starts (a plain DataParallelTrainer runs them: a TorchTrainer would set up CUDA)."""
from __future__ import annotations

import json

import pytest
import ray
import ray.train
from helpers.segment import make_corpus
from ray.train import RunConfig
from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

from pipelines.runtime.local_s3 import _free_ports
from pipelines.train import cli
from pipelines.train.job import TrainOptions, plan_run, scaling_config
from streamer_core import ConfigError, load_config


@pytest.mark.parametrize("gpus", ["-1", "1.5"])
def test_gpu_counts_ray_cannot_grant_are_refused_before_anything(gpus, tmp_path):
    cfg = load_config("tiny", overrides=[f"train.gpus_per_worker={gpus}", f"data.input={tmp_path}",
                                         f"train.checkpoint_dir={tmp_path}/ckpt"])
    with pytest.raises(ConfigError, match="train.gpus_per_worker"):
        plan_run(cfg, TrainOptions())
    assert not (tmp_path / "ckpt").exists()


@pytest.fixture(scope="module")
def gpu_cluster():
    """A local Ray cluster with 4 logical CPUs and one logical GPU."""
    (port,) = _free_ports(1)
    ray.init(address="local", num_cpus=4, num_gpus=1, include_dashboard=False, dashboard_port=port)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_every_worker_is_granted_its_gpu_share(gpu_cluster, tmp_path):
    def write_resources(config: dict) -> None:  # nested: pickled by value (workers cannot import tests)
        rank = ray.train.get_context().get_world_rank()
        with open(f"{config['folder']}/{rank}.json", "w") as f:
            json.dump(ray.get_runtime_context().get_assigned_resources(), f)

    cfg = load_config("tiny", overrides=["train.workers=2", "train.gpus_per_worker=0.5"])
    DataParallelTrainer(write_resources, train_loop_config={"folder": str(tmp_path)},
                        scaling_config=scaling_config(cfg),
                        run_config=RunConfig(name="gpus", storage_path=str(tmp_path / "ray"))).fit()
    granted = [json.loads((tmp_path / f"{rank}.json").read_text()) for rank in range(2)]
    assert granted == [{"CPU": 1.0, "GPU": 0.5}] * 2


@pytest.mark.slow
def test_more_gpus_than_the_cluster_has_is_one_error_line(gpu_cluster, tmp_path, capsys):
    corpus = make_corpus(tmp_path / "corpus", videos=2, bad=False)
    argv = ["--input", str(corpus), "--checkpoint-dir", str(tmp_path / "ckpt"), "--set", "train.gpus_per_worker=1",
            "--workers", "2", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: train.gpus_per_worker=1 x 2 workers: the cluster has 1 GPUs", err
    assert not (tmp_path / "mlflow.db").exists()
