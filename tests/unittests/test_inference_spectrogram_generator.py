"""SpectrogramGenerator.unconditional_generate on a tiny in-memory model: shapes, seeds,
saving with mel_db.pt, and a clear error for a conditioned model."""

import os

import pytest
import torch

from audiodiff.audio import GriffinLimVocoder, SpectrogramNormalizer
from audiodiff.diffusion import make_schedule
from audiodiff.inference import SpectrogramGenerator
from audiodiff.nets import SpectrogramUNet


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared CPU run far faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_generator(label_classes=None):
    torch.manual_seed(0)
    model = SpectrogramUNet(
        base_channels=8,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_levels=(),
        label_classes=label_classes,
    )
    for p in model.output.parameters():  # a non-trivial output (the last conv starts at 0)
        torch.nn.init.normal_(p, std=0.1)
    hparams = {
        "modules": {
            "model": model,
            "normalizer": SpectrogramNormalizer(-80.0, 0.0),
            "schedule": make_schedule("cosine", num_steps=50),
            "vocoder": GriffinLimVocoder(22050, 1024, 256, n_mels=16, n_iter=1, nnls_iter=1),
        },
        "label_classes": label_classes or {},
        "sample_shape": [1, 16, 8],
        "prediction": "v",
        "sampler": "ddim",
        "sample_steps": 3,
        "guidance_scale": 1.0,
        "sample_rate": 22050,
    }
    return SpectrogramGenerator(hparams, {}, device="cpu")


def test_unconditional_generate_shapes_and_seed(tmp_path):
    gen = tiny_generator()
    out = gen.unconditional_generate(3, seed=1, batch_size=2)
    assert out["mel_db"].shape == (3, 16, 8) and out["wav"].shape == (3, 8 * 256)
    assert out["grid"] == [{}, {}, {}]
    assert float(out["mel_db"].min()) >= -80.0 and float(out["mel_db"].max()) <= 0.0
    again = gen.unconditional_generate(3, seed=1, batch_size=3)
    torch.testing.assert_close(again["mel_db"], out["mel_db"])
    other = gen.unconditional_generate(3, seed=2)
    assert not torch.allclose(other["mel_db"], out["mel_db"])
    paths = gen.save(tmp_path, out, save_mels=True)
    assert [os.path.basename(p) for p in paths] == [f"uncond_00{i}.wav" for i in range(3)]
    saved = torch.load(tmp_path / "mel_db.pt", weights_only=True)
    assert saved.dtype == torch.float16
    torch.testing.assert_close(saved.float(), out["mel_db"], atol=0.05, rtol=0)


def test_unconditional_generate_refuses_a_conditioned_model():
    with pytest.raises(ValueError, match="conditioned on digit"):
        tiny_generator({"digit": 10}).unconditional_generate(2)
    with pytest.raises(ValueError, match="num must be"):
        tiny_generator().unconditional_generate(0)


def test_a_folder_without_hyperparams_names_an_example(tmp_path):
    with pytest.raises(FileNotFoundError, match="no hyperparams.yaml.*results/digit_diffusion"):
        SpectrogramGenerator.from_hparams(str(tmp_path))
