"""Tests for audiodiff.nets.embeddings: sinusoidal, timestep and label embeddings."""

import math

import pytest
import torch

from audiodiff.nets import LabelEmbedding, TimestepEmbedding, sinusoidal_embedding


def test_sinusoidal_matches_formula():
    t = torch.tensor([0, 1, 37, 999])
    dim, max_period = 8, 10000.0
    emb = sinusoidal_embedding(t, dim, max_period)
    assert emb.shape == (4, dim) and emb.dtype == torch.float32
    expected = torch.empty(4, dim)
    for row, step in enumerate(t.tolist()):
        for i in range(dim // 2):
            freq = max_period ** (-i / (dim // 2))
            expected[row, i] = math.cos(step * freq)
            expected[row, dim // 2 + i] = math.sin(step * freq)
    torch.testing.assert_close(emb, expected, atol=1e-4, rtol=1e-4)


def test_sinusoidal_long_and_float_agree_and_odd_dim():
    t = torch.tensor([3, 250])
    torch.testing.assert_close(sinusoidal_embedding(t, 16), sinusoidal_embedding(t.float(), 16))
    odd = sinusoidal_embedding(t, 7)
    assert odd.shape == (2, 7)
    torch.testing.assert_close(odd[:, -1], torch.zeros(2))
    # Fractional timesteps give values between their neighbours' (continuous in t).
    mid = sinusoidal_embedding(torch.tensor([3.5]), 16)
    assert not torch.equal(mid, sinusoidal_embedding(torch.tensor([3]), 16))


def test_timestep_embedding_shape_and_distinct():
    torch.manual_seed(0)
    embed = TimestepEmbedding(dim=16, hidden_dim=32)
    out = embed(torch.tensor([0, 1, 500]))
    assert out.shape == (3, 32)
    assert (out[0] - out[2]).abs().max() > 1e-3


def test_label_embedding_rows_and_null():
    embed = LabelEmbedding(num_classes=4, dim=6, name="digit")
    out = embed(torch.tensor([0, 3, -1, 2]))
    torch.testing.assert_close(out, embed.weight[[0, 3, 4, 2]])
    assert embed.weight.shape == (5, 6)


@pytest.mark.parametrize("bad", [4, 12, -2])
def test_label_embedding_out_of_range(bad):
    embed = LabelEmbedding(num_classes=4, dim=6, name="digit")
    with pytest.raises(ValueError, match=rf"digit label {bad} out of range \[0, 3\]"):
        embed(torch.tensor([0, bad, 1]))
    assert bool(embed.out_of_range(torch.tensor([bad])))
    assert not bool(embed.out_of_range(torch.tensor([-1, 0, 3])))


def test_label_dropout_train_vs_eval():
    torch.manual_seed(0)
    embed = LabelEmbedding(num_classes=10, dim=4)
    labels = torch.randint(0, 10, (4000,))
    null = embed.weight[10]
    embed.train()
    all_dropped = embed(labels, drop_prob=1.0)
    torch.testing.assert_close(all_dropped, null.expand(4000, 4))
    half = embed(labels, drop_prob=0.3)
    dropped_fraction = (half == null).all(dim=1).float().mean().item()
    assert 0.25 < dropped_fraction < 0.35
    embed.eval()
    torch.testing.assert_close(embed(labels, drop_prob=1.0), embed.weight[labels])


def test_label_embedding_gradient_reaches_used_rows():
    embed = LabelEmbedding(num_classes=3, dim=4)
    embed(torch.tensor([0, -1])).sum().backward()
    grad = embed.weight.grad
    assert grad[0].abs().sum() > 0 and grad[3].abs().sum() > 0
    torch.testing.assert_close(grad[1:3], torch.zeros(2, 4))
