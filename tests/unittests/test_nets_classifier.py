"""Tests for audiodiff.nets.classifier: SpectrogramClassifier and spec_augment."""

import pytest
import torch
import torch.nn.functional as F

from audiodiff.nets import SpectrogramClassifier, spec_augment


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny ops: one thread avoids thread-sync overhead (10x slower when the CPU is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("frames", [1, 7, 63])
def test_output_shapes_any_frame_count(frames):
    model = SpectrogramClassifier(n_mels=80, channels=(8, 16, 16, 32), embedding_dim=24).eval()
    out = model(torch.randn(3, 80, frames))
    assert out["digit"].shape == (3, 10)
    assert out["speaker"].shape == (3, 6)
    assert out["embedding"].shape == (3, 24)


def test_no_speaker_head_and_bad_input():
    model = SpectrogramClassifier(n_mels=40, num_digits=5, num_speakers=0, channels=(8,))
    out = model(torch.randn(2, 40, 10))
    assert out["speaker"] is None and out["digit"].shape == (2, 5)
    assert not any("speaker" in name for name, _ in model.named_parameters())
    with pytest.raises(ValueError, match="40"):
        model(torch.randn(2, 80, 10))


def test_overfits_tiny_batch():
    torch.manual_seed(0)
    model = SpectrogramClassifier(n_mels=32, channels=(8, 16), embedding_dim=32, dropout=0.0)
    mel = torch.randn(8, 32, 24)
    digit, speaker = torch.arange(8) % 10, torch.arange(8) % 6
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        out = model(mel)
        loss = F.cross_entropy(out["digit"], digit) + F.cross_entropy(out["speaker"], speaker)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
    model.eval()
    assert torch.equal(model(mel)["digit"].argmax(-1), digit)


def test_spec_augment_masks_bands():
    mel = torch.rand(6, 40, 30) + 1.0  # strictly positive, so zeros mark masked cells
    out = spec_augment(
        mel,
        generator=torch.Generator().manual_seed(0),
        num_freq_masks=1,
        freq_mask_width=5,
        num_time_masks=1,
        time_mask_width=4,
        mask_value=0.0,
    )
    again = spec_augment(
        mel,
        generator=torch.Generator().manual_seed(0),
        num_freq_masks=1,
        freq_mask_width=5,
        num_time_masks=1,
        time_mask_width=4,
        mask_value=0.0,
    )
    torch.testing.assert_close(out, again)
    masked = out == 0
    kept = ~masked
    torch.testing.assert_close(out[kept], mel[kept])
    full_rows = masked.all(dim=2).sum(dim=1)  # masked mel bins per example
    full_cols = masked.all(dim=1).sum(dim=1)  # masked frames per example
    assert full_rows.max() <= 5 and full_cols.max() <= 4
    assert masked.any()
    # Every masked cell lies in a masked row or a masked column.
    in_band = masked.all(dim=2, keepdim=True) | masked.all(dim=1, keepdim=True)
    assert torch.equal(masked, in_band)


def test_spec_augment_default_fill_is_example_mean():
    mel = torch.randn(2, 20, 16) + torch.tensor([5.0, -5.0])[:, None, None]
    out = spec_augment(mel, generator=torch.Generator().manual_seed(1), freq_mask_width=20)
    changed = out != mel
    assert changed[0].any() and changed[1].any()
    for b in range(2):
        torch.testing.assert_close(out[b][changed[b]].unique(), mel[b].mean().reshape(1))
