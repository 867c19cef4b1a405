"""On a CUDA device (marked `gpu`; skipped with the reason where there is none): the streamer learns
and segments there in both precisions, and what it cuts and learns matches the CPU's."""
import numpy as np
import pytest
import torch

from streamer_core import Learner, Streamer, StreamerModel, StreamSource, load_config

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]


def _frames(seed: int, n: int = 120) -> np.ndarray:
    frames = np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    frames[n // 2:] //= 3  # a darker half, so that there is something to cut
    return frames


def _learned(device: str, precision: str) -> tuple[StreamerModel, torch.Tensor]:
    """A fresh model learns two videos; returns it and its flattened initial weights."""
    cfg = load_config("tiny-default", overrides=[f"model.precision={precision}"])
    torch.manual_seed(0)
    model = StreamerModel(cfg.model).to(device)
    initial = torch.cat([p.detach().flatten().float().cpu() for p in model.parameters()])
    streamer = Streamer(model, Learner(model, cfg.learn))
    for s in range(2):
        streamer.learn(StreamSource(f"v{s}", [_frames(s)]))
    return model, initial


def _weights(model: StreamerModel) -> torch.Tensor:
    return torch.cat([p.detach().flatten().float().cpu() for p in model.parameters()])


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_learns_and_segments_on_cuda_like_on_the_cpu(precision):
    gpu, initial = _learned("cuda", precision)
    cpu, _ = _learned("cpu", precision)
    assert next(gpu.parameters()).is_cuda and torch.isfinite(_weights(gpu)).all()
    moved = torch.linalg.norm(_weights(cpu) - initial)
    assert moved > 0 and torch.linalg.norm(_weights(gpu) - initial) > 0.5 * moved
    if precision == "float32":  # the same steps, up to the devices' rounding
        assert torch.linalg.norm(_weights(gpu) - _weights(cpu)) < 0.25 * moved
    with torch.no_grad():
        on_gpu = list(Streamer(gpu.eval()).run([StreamSource(f"w{s}", [_frames(10 + s)]) for s in range(3)]))
        on_cpu = list(Streamer(cpu.eval()).run([StreamSource(f"w{s}", [_frames(10 + s)]) for s in range(3)]))
    for g, c in zip(on_gpu, on_cpu):
        assert g.video_id == c.video_id and len(g.levels) == len(c.levels)
        assert g.levels[0][-1].end_s == c.levels[0][-1].end_s and len(g.boundaries(0)) >= 1


def test_auto_precision_resolves_from_the_device():
    cfg = load_config("default")
    model = StreamerModel(cfg.model).to("cuda")
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    assert model.precision == ("bfloat16" if native else "float32")
