"""Tests for audiodiff.nets.attention and audiodiff.nets.blocks."""

import torch
from torch import nn

from audiodiff.nets import CrossAttention2d, ResBlock, SelfAttention2d, group_norm


def _perturb_proj(module):
    torch.manual_seed(1)
    nn.init.normal_(module.proj.weight, std=0.2)
    nn.init.normal_(module.proj.bias, std=0.2)


def _naive_cross(attn, x, context, mask):
    """Reference cross-attention with an explicit softmax, one sample at a time."""
    out = []
    for b in range(x.shape[0]):
        channels, height, width = x.shape[1:]
        tokens = attn.norm(x[b : b + 1]).reshape(channels, -1).T  # [hw, c]
        ctx = attn.context_norm(context[b][mask[b]])  # [kept, d]
        if ctx.shape[0] == 0:
            out.append(x[b])
            continue
        q = attn.q(tokens)
        k, v = attn.kv(ctx).chunk(2, -1)
        heads, head_dim = attn.num_heads, channels // attn.num_heads
        q = q.reshape(-1, heads, head_dim).transpose(0, 1)
        k = k.reshape(-1, heads, head_dim).transpose(0, 1)
        v = v.reshape(-1, heads, head_dim).transpose(0, 1)
        weights = torch.softmax(q @ k.transpose(1, 2) / head_dim**0.5, dim=-1)
        h = (weights @ v).transpose(0, 1).reshape(-1, channels)
        out.append(x[b] + attn.proj(h).T.reshape(channels, height, width))
    return torch.stack(out)


def test_group_norm_groups():
    assert group_norm(256).num_groups == 32
    assert group_norm(48).num_groups == 24
    assert group_norm(1).num_groups == 1


def test_attention_blocks_start_as_identity():
    x = torch.randn(2, 8, 5, 3)
    torch.testing.assert_close(SelfAttention2d(8, 2)(x), x, rtol=0, atol=0)
    cross = CrossAttention2d(8, context_dim=6, num_heads=2)
    torch.testing.assert_close(cross(x, torch.randn(2, 4, 6)), x, rtol=0, atol=0)


def test_self_attention_is_permutation_equivariant():
    torch.manual_seed(0)
    attn = SelfAttention2d(8, 2)
    _perturb_proj(attn)
    x = torch.randn(2, 8, 4, 6)
    out = attn(x)
    assert (out - x).abs().max() > 1e-3
    # Swapping two spatial positions swaps the outputs (no positional bias).
    perm = torch.randperm(24)
    x_perm = x.reshape(2, 8, 24)[:, :, perm].reshape(2, 8, 4, 6)
    expected = out.reshape(2, 8, 24)[:, :, perm].reshape(2, 8, 4, 6)
    torch.testing.assert_close(attn(x_perm), expected, atol=1e-5, rtol=1e-4)


def test_cross_attention_matches_naive_with_mask():
    torch.manual_seed(0)
    attn = CrossAttention2d(8, context_dim=6, num_heads=2)
    _perturb_proj(attn)
    x, context = torch.randn(3, 8, 4, 5), torch.randn(3, 7, 6)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, 4:] = False  # partial
    mask[1] = False  # nothing to attend to: no update
    out = attn(x, context, mask)
    torch.testing.assert_close(out, _naive_cross(attn, x, context, mask), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[1], x[1], rtol=0, atol=0)
    # Masked-out context values have no influence.
    changed = context.clone()
    changed[0, 4:] = 100.0
    torch.testing.assert_close(attn(x, changed, mask), out, atol=1e-5, rtol=1e-4)
    # No mask = attend everywhere.
    full = torch.ones(3, 7, dtype=torch.bool)
    torch.testing.assert_close(attn(x, context), _naive_cross(attn, x, context, full))


def test_res_block_uses_embedding():
    torch.manual_seed(0)
    block = ResBlock(4, 8, emb_dim=6)
    x = torch.randn(2, 4, 5, 5)
    emb = torch.randn(1, 6).expand(2, 6)
    out = block(x, emb)
    assert out.shape == (2, 8, 5, 5)
    assert (block(x, emb + 1.0) - out).abs().max() > 1e-3
