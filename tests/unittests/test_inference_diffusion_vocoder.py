"""DiffusionVocoder without a trained experiment: the Vocoder contract, every prior, any hop,
the sampler choice from a step count, the mel checks and the settings comparison."""

import pytest
import torch

from audiodiff.audio import MelSpectrogram, Vocoder, amplitude_to_db, mel_filterbank
from audiodiff.diffusion import (
    PriorGradPrior,
    SpecGradPrior,
    StandardGaussianPrior,
    make_schedule,
)
from audiodiff.inference import (
    DiffusionVocoder,
    VocoderMismatchError,
    load_vocoder,
    mel_settings_mismatch,
    resolve_vocoder,
)
from audiodiff.nets import DiffWave, upsample_factors
from audiodiff.training.vocoding import choose_sampler


def tiny_vocoder(prior_name="standard", hop=256, sample_rate=22050, n_mels=20):
    torch.manual_seed(0)
    mel = MelSpectrogram(sample_rate, n_fft=1024, hop_length=hop, n_mels=n_mels)
    model = DiffWave(
        residual_channels=8,
        residual_layers=2,
        dilation_cycle=2,
        embed_dim=16,
        n_mels=n_mels,
        upsample_factors=upsample_factors(hop),
    )
    torch.nn.init.normal_(model.output_projection.weight, std=0.01)
    speech = amplitude_to_db(mel(0.1 * torch.randn(2 * sample_rate)))
    prior = {
        "standard": lambda: StandardGaussianPrior(),
        "priorgrad": lambda: PriorGradPrior(hop).fit(speech),
        "specgrad": lambda: SpecGradPrior(
            mel_filterbank(sample_rate, 1024, n_mels, 0.0, 8000.0), 1024, hop
        ).fit(speech),
    }[prior_name]()
    schedule = make_schedule("linear", 50, beta_start=1e-4, beta_end=0.05)
    return DiffusionVocoder(model, schedule, prior, mel)


@pytest.mark.parametrize("prior_name", ["standard", "priorgrad", "specgrad"])
def test_vocoder_contract_under_every_prior(prior_name):
    vocoder = tiny_vocoder(prior_name)
    assert isinstance(vocoder, Vocoder) and vocoder.hop_length == 256
    mel_db = vocoder.mel_db_of(0.1 * torch.randn(2, 3000))
    out = vocoder(mel_db)
    assert out.shape == (2, mel_db.shape[-1] * 256) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all()) and float(out.abs().max()) <= 1.0
    torch.testing.assert_close(vocoder.vocode(mel_db), out)  # the seed makes it reproducible
    assert not torch.equal(vocoder.vocode(mel_db, seed=3), out)
    assert vocoder.vocode(mel_db[0]).shape == (1, out.shape[-1])  # [n_mels, frames] accepted
    assert vocoder.resynthesize(torch.zeros(1000)).shape == (1000,)
    assert not any(p.requires_grad for p in vocoder.parameters())
    vocoder.train()
    assert not vocoder.model.training  # a vocoder inside a training recipe stays frozen


def test_any_even_hop_end_to_end():
    vocoder = tiny_vocoder("specgrad", hop=300)
    mel_db = vocoder.mel_db_of(0.1 * torch.randn(1, 1500))
    assert vocoder.vocode(mel_db).shape == (1, mel_db.shape[-1] * 300)


def test_compile_true_vocodes_through_the_compiled_module(monkeypatch):
    """``compile=True`` (issue 15): vocode through torch.compile's real OptimizedModule, whose
    bool() raises TypeError for a DiffWave (``len()`` proxied to a non-sequence). A counting
    dynamo backend stands in for inductor + CUDA graphs, so this costs seconds on the CPU."""
    real_compile = torch.compile
    requested, traced = [], []

    def counting_backend(graph_module, example_inputs):
        traced.append(graph_module)
        return graph_module.forward

    def compile_with_counting_backend(model, **kwargs):
        requested.append(kwargs)
        try:
            return real_compile(model, backend=counting_backend)
        except RuntimeError as err:  # e.g. a Python version dynamo does not support
            pytest.skip(f"torch.compile unavailable: {err}")

    eager = tiny_vocoder()
    monkeypatch.setattr(torch, "compile", compile_with_counting_backend)
    vocoder = DiffusionVocoder(eager.model, eager.schedule, eager.prior, eager.mel, compile=True)
    monkeypatch.undo()
    assert requested == [{"mode": "reduce-overhead"}]
    assert vocoder._compiled._orig_mod is eager.model  # the benchmark sets this same attribute
    mel_db = eager.mel_db_of(0.1 * torch.randn(1, 2000))
    try:
        for steps in (6, 50):
            torch.testing.assert_close(
                vocoder.vocode(mel_db, steps=steps), eager.vocode(mel_db, steps=steps)
            )
        assert traced  # the network ran through the compiled module, not around it
    finally:
        torch._dynamo.reset()


def test_steps_choose_the_sampler():
    assert choose_sampler(None, None) == ("fast", None)
    assert choose_sampler(None, 6) == ("fast", None)
    assert choose_sampler(None, 50) == ("ddpm", 50)
    assert choose_sampler(None, 10) == ("ddpm", 10)
    assert choose_sampler("dpm_solver", 8) == ("dpm_solver", 8)
    assert choose_sampler(None, 6, "wg6") == ("fast", None)
    with pytest.raises(ValueError, match="has 6 steps, not 10"):
        choose_sampler("fast", 10)
    vocoder = tiny_vocoder()
    mel_db = vocoder.mel_db_of(0.1 * torch.randn(1, 800))
    length = mel_db.shape[-1] * 256
    for kwargs in ({"steps": 50}, {"steps": 3}, {"sampler": "ddim", "steps": 4}):
        assert vocoder.vocode(mel_db, **kwargs).shape == (1, length)
    wg6 = DiffusionVocoder(
        vocoder.model, vocoder.schedule, vocoder.prior, vocoder.mel, fast_schedule="wg6"
    )
    assert bool(torch.isfinite(wg6.vocode(mel_db)).all())  # clamped to the last step


def test_mel_checks():
    vocoder = tiny_vocoder()
    good = vocoder.mel_db_of(0.1 * torch.randn(1, 2000))
    vocoder.check_mel(good)
    vocoder.check_mel(torch.full((1, 20, 5), -100.0))  # digital silence
    vocoder.check_mel(torch.full((1, 20, 5), -60.0) + torch.rand(1, 20, 5))  # quiet noise
    with pytest.raises(VocoderMismatchError, match="10 bands, this vocoder was trained on 20"):
        vocoder.check_mel(torch.zeros(1, 10, 5) - 50)
    below = good.clone()
    below[..., 0] = -130.0  # e.g. 10 log10 of a power mel: twice the magnitude dB
    with pytest.raises(VocoderMismatchError, match="below this vocoder's dB floor"):
        vocoder.check_mel(below)
    with pytest.raises(VocoderMismatchError, match="looks normalised"):
        vocoder.check_mel((good + 50) / 50)  # [-1, 1]-like
    with pytest.raises(VocoderMismatchError, match="looks normalised"):
        vocoder.check_mel(good * torch.log(torch.tensor(10.0)) / 20)  # natural log
    with pytest.raises(VocoderMismatchError, match="NaN"):
        vocoder.check_mel(torch.full((1, 20, 5), float("nan")))


def test_settings_comparison_and_load_vocoder():
    ours = MelSpectrogram(22050).settings()
    assert mel_settings_mismatch(ours, dict(ours)) == []
    assert mel_settings_mismatch(ours, {**ours, "win_length": None}) == []  # None = n_fft
    assert (
        mel_settings_mismatch(
            MelSpectrogram(22050, f_max=None).settings(),
            MelSpectrogram(22050, f_max=11025).settings(),
        )
        == []
    )
    diff = mel_settings_mismatch(ours, MelSpectrogram(16000, n_mels=40, power=2.0).settings())
    assert [k for k, _, _ in diff] == ["sample_rate", "n_mels", "power"]
    vocoder = tiny_vocoder()
    assert load_vocoder(vocoder, vocoder.mel.settings()) is vocoder
    with pytest.raises(VocoderMismatchError, match="hop_length 128 \\(vocoder: 256\\)"):
        load_vocoder(vocoder, MelSpectrogram(22050, hop_length=128, n_mels=20).settings())
    with pytest.raises(FileNotFoundError, match="not a vocoder experiment folder"):
        load_vocoder("/nonexistent/folder")
    hparams = {"vocoder": "/nonexistent/folder", "mel": vocoder.mel, "modules": {"vocoder": 1}}
    with pytest.raises(FileNotFoundError):
        resolve_vocoder(hparams)
