"""Mixed precision (model.precision=bfloat16): float32 weights, bfloat16 products, results close
to float32, and low-precision weight copies that follow every change of the weights."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from streamer_core import (
    CheckpointError,
    Learner,
    Streamer,
    StreamerModel,
    StreamSource,
    load_config,
    precision,
)
from streamer_core.layers import LowPrecision, settle_deferred
from streamer_core.loss import prediction_loss

FRAMES = np.random.default_rng(5).integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)


def model_pair(preset: str = "tiny") -> tuple[StreamerModel, StreamerModel]:
    """The same float32 weights, computing in float32 and in bfloat16."""
    torch.manual_seed(0)
    full = StreamerModel(load_config(preset).model)
    low = StreamerModel(load_config(preset, overrides=["model.precision=bfloat16"]).model)
    low.load_state_dict(full.state_dict())
    return full, low


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.norm(a - b) / torch.linalg.norm(b))


def test_weights_stay_float32_and_outputs_stay_close():
    full, low = model_pair()
    assert all(p.dtype == torch.float32 for p in low.parameters())
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        z_full, z_low = full.encoder(x), low.encoder(x)
        frames_full, frames_low = full.decoder(z_full), low.decoder(z_full)
    assert z_low.dtype == frames_low.dtype == torch.float32
    assert 0 < relative(z_low, z_full) < 2e-2  # rounded, not computed differently
    assert 0 < relative(frames_low, frames_full) < 2e-2


def first_step_gradients(model: StreamerModel, fast: bool = True) -> list[torch.Tensor]:
    """The gradients level 0's f and p modules apply at their first optimiser step."""
    learner = Learner(model, load_config("tiny", overrides=[f"learn.fast_path={fast}"]).learn)
    grads: dict[int, list[torch.Tensor]] = {}
    for k, optimizer in enumerate((learner.f_optimizers[0], learner.p_optimizers[0])):
        def recorded(k=k, optimizer=optimizer, original=optimizer.step):
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            grads.setdefault(k, [p.grad.clone() for p in params])
            return original()
        optimizer.step = recorded
    Streamer(model, learner).learn(StreamSource("v", [FRAMES[:20]]))
    return grads[0] + grads[1]


def gradient_gap(ours: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """|ours - reference| / |reference| over all of the module's gradients together."""
    assert len(ours) == len(reference) > 0
    gap = sum(float(torch.linalg.norm(a - b) ** 2) for a, b in zip(ours, reference))
    return (gap / sum(float(torch.linalg.norm(b) ** 2) for b in reference)) ** 0.5


def test_training_gradients_stay_close_to_float32():
    full, low = model_pair()
    # bfloat16 keeps 8 bits of mantissa: about 5 % here (measured 4.6 % for f, 6.0 % for p)
    assert 0 < gradient_gap(first_step_gradients(low), first_step_gradients(full)) < 0.1


def test_fast_path_matches_the_plain_path_in_bfloat16():
    _, low = model_pair()
    _, plain = model_pair()
    assert gradient_gap(first_step_gradients(low), first_step_gradients(plain, fast=False)) < 1e-2


def test_low_precision_copies_follow_optimiser_steps_and_loads():
    _, low = model_pair()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = low.encoder(x)
    Streamer(low, Learner(low, load_config("tiny").learn)).learn(StreamSource("v", [FRAMES]))  # steps move the weights
    fresh = StreamerModel(low.cfg)
    fresh.load_state_dict(low.state_dict())
    with torch.no_grad():
        after, expected = low.encoder(x), fresh.encoder(x)
    assert not torch.equal(before, after)
    torch.testing.assert_close(after, expected, rtol=0, atol=0)
    low.load_state_dict(StreamerModel(low.cfg).state_dict())  # a load also refreshes the copies
    reloaded = StreamerModel(low.cfg)
    reloaded.load_state_dict(low.state_dict())
    with torch.no_grad():
        again = low.encoder(x)
        torch.testing.assert_close(again, reloaded.encoder(x), rtol=0, atol=0)
    assert not torch.equal(again, after)


def test_deferred_gradients_in_bfloat16_settle_in_float32():
    _, low = model_pair()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    low.encoder(x).pow(2).sum().backward()
    settle_deferred(low)
    assert low.encoder.project.weight.grad.dtype == torch.float32
    assert all(c.weight.grad.dtype == torch.float32 for c in low.encoder.convs)


def test_weights_load_across_precisions(tmp_path):
    full, _ = model_pair()
    full.save(tmp_path / "m.pt")
    torch.manual_seed(1)  # other weights than the saved ones, until the load
    low = StreamerModel(load_config("tiny", overrides=["model.precision=bfloat16"]).model)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        before = low.encoder(x)
    low.load_weights(tmp_path / "m.pt")  # the weights are the same either way
    for name, value in full.state_dict().items():
        assert torch.equal(low.state_dict()[name], value), name
    with torch.no_grad():
        after, reference = low.encoder(x), full.encoder(x)
    assert not torch.equal(after, before)  # the bfloat16 copies follow the load
    assert 0 < relative(after, reference) < 2e-2
    full.load_weights(low.to_bytes())  # and back: a bfloat16 model's checkpoint loads into float32
    other = StreamerModel(load_config("tiny", overrides=["model.precision=bfloat16", "model.embed_dim=16"]).model)
    with pytest.raises(CheckpointError, match="model.embed_dim"):
        other.load_weights(tmp_path / "m.pt")


def test_cosine_is_torch_cosine_similarity():
    torch.manual_seed(1)
    a, b = torch.randn(2, 3, 8, 8, dtype=torch.float64), torch.randn(2, 3, 8, 8, dtype=torch.float64)
    b[1, :, 0, 0] = 0.0  # a zero vector: both clamp by eps
    loss, score = prediction_loss("cosine", a, b)
    expected = F.cosine_similarity(a, b, dim=1, eps=1e-8).flatten(1).mean(1)
    torch.testing.assert_close(score, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(loss, -expected, rtol=1e-12, atol=1e-12)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    native = tmp_path / "native"
    native.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    plain = tmp_path / "plain"
    plain.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert "avx512_bf16" in precision.cpu_flags(str(native))
    assert not set(precision.NATIVE_CPU_FLAGS) & precision.cpu_flags(str(plain))
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()  # unknown: float32, never assumed


def test_amx_l2_budgets_are_read_from_sysfs(tmp_path):
    amx, plain = tmp_path / "amx", tmp_path / "plain"
    amx.write_text("processor\t: 0\nflags\t\t: fpu avx512_bf16 amx_tile amx_bf16\n")
    plain.write_text("processor\t: 0\nflags\t\t: fpu avx512_bf16\n")
    caches = tmp_path / "cache"
    levels = [("1", "Data", "48K", "0,56"), ("1", "Instruction", "32K", "0,56"), ("2", "Unified", "2048K", "0,56"),
              ("3", "Unified", "105M", "0-111")]
    for n, (level, kind, size, shared) in enumerate(levels):
        index = caches / f"index{n}"
        index.mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (index / name).write_text(value + "\n")
    # 3/4 of 2 MiB, whole and per SMT thread: 24 and 12 rows of the encoder's 65536-wide projection
    assert precision.amx_l2_budgets(str(caches), str(amx)) == {24 * 65536, 12 * 65536}
    assert precision.amx_l2_budgets(str(caches), str(plain)) == frozenset()  # no AMX: never that plan
    assert precision.amx_l2_budgets(str(tmp_path / "missing"), str(amx)) == {6 * 65536, 3 * 65536}  # oneDNN's guess


def test_auto_precision_follows_the_device():
    expected = "bfloat16" if set(precision.NATIVE_CPU_FLAGS) & precision.cpu_flags() else "float32"
    assert precision.resolve("auto", "cpu") == expected
    assert precision.resolve("float32", "cpu") == "float32" and precision.resolve("bfloat16", "cpu") == "bfloat16"
    model = StreamerModel(load_config("tiny", overrides=["model.precision=auto"]).model)
    assert model.precision == expected
    lows = {m.low_precision for m in model.modules() if isinstance(m, LowPrecision)}
    assert lows == {torch.bfloat16 if expected == "bfloat16" else None}
    assert model.to(torch.float64).precision == expected  # moving re-resolves on the (same) device
    loaded = StreamerModel.from_checkpoint(model.to(torch.float32).to_bytes())
    assert loaded.cfg.precision == "auto" and loaded.precision == expected  # resolved where it loads
    loaded.compute_in("bfloat16")
    assert loaded.precision == "bfloat16" and loaded.encoder.project.low_precision == torch.bfloat16


# The product of the frame encoder's projection (1024 channels x 8 x 8 -> 1024) in bfloat16, and the
# decoder's input gradient (the same product), at every row count up to 32 (oneDNN's small-M plan);
# the decoder's stash of weight-gradient rows is dropped, only the products are under test.
SMALL_BATCHES = """
import torch
from streamer_core.layers import DeferredLinear, use_precision
torch.set_num_threads(1)
encoder, decoder = DeferredLinear(65536, 1024), DeferredLinear(1024, 65536)
for layer in (encoder, decoder):
    use_precision(layer, "bfloat16")
for rows in range(1, 33):
    with torch.no_grad():
        encoder(torch.randn(rows, 65536))  # [rows, 65536] x [65536, 1024]
    decoder(torch.randn(rows, 1024, requires_grad=True)).sum().backward()  # [rows, 65536] x [65536, 1024]
    decoder._inputs, decoder._grads = [], []
"""


@pytest.mark.skipif(not set(precision.NATIVE_CPU_FLAGS) & precision.cpu_flags(),
                    reason="no native bfloat16 on this CPU (neither avx512_bf16 nor amx_bf16 in its flags): "
                           "auto computes in float32 here and oneDNN's AMX matmul is never reached")
def test_big_projections_in_bfloat16_survive_every_small_batch():
    """oneDNN's AMX matmul in torch 2.13 died of SIGFPE planning [24, 65536] x [65536, 1024] on a
    2 MiB L2 (precision.amx_l2_budgets), which the default preset's learning reached at the end of a
    video. A SIGFPE kills the process, hence the subprocess."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-c", SMALL_BATCHES], capture_output=True,
                          text=True, env=env,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    code = done.returncode
    assert code == 0, f"{signal.Signals(-code).name if code < 0 else f'exit {code}'}\n{done.stderr[-3000:]}"
