"""The hand-written parts that replace torch modules for speed compute what those modules do."""
import pytest
import torch
import torch.nn as nn

from streamer_core.layers import settle_deferred
from streamer_core.networks import Transformer


def reference(dim: int, heads: int, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, activation="relu",
                                       batch_first=True)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim, elementwise_affine=False),
                                 enable_nested_tensor=False)


@pytest.mark.parametrize("padded", [False, True])
def test_transformer_is_torch_transformer_encoder(padded):
    torch.manual_seed(3)
    ours = Transformer(16, 4, 2).double()
    torch.manual_seed(3)
    theirs = reference(16, 4, 2).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # checkpoints keep their names
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(a, b), name  # same initialisation from the same seed
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] + [True] * 4]) if padded else None
    weights = torch.randn(3, 5, 16, dtype=torch.float64)
    out_ours, out_theirs = ours(x, pad), theirs(x, src_key_padding_mask=pad)
    keep = (~pad)[..., None] if padded else torch.ones(3, 5, 1, dtype=torch.bool)
    torch.testing.assert_close(out_ours * keep, out_theirs * keep, rtol=1e-12, atol=1e-12)
    (out_ours * keep * weights).sum().backward()
    (out_theirs * keep * weights).sum().backward()
    settle_deferred(ours)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_transformer_without_grad_matches_eval_mode_torch():
    torch.manual_seed(4)
    ours = Transformer(32, 8, 2).eval()
    torch.manual_seed(4)
    theirs = reference(32, 8, 2).eval()
    x = torch.randn(2, 7, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)
