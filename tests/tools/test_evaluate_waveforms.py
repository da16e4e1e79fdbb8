"""tools/evaluate_waveforms.py: figures beside a real SC09 reference, checks, speaker shares,
one-line errors."""

import json
import math
import os
import runpy

import pytest
import torch

from audiodiff.audio import MelSpectrogram, SpectrogramNormalizer, write_audio
from audiodiff.data import BUNDLED_SC09_MINI
from audiodiff.metrics import SampleEvaluator
from audiodiff.nets import SpectrogramClassifier

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "evaluate_waveforms.py")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tool():
    return runpy.run_path(TOOL)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """4 babbling 1 s clips with a 4 kHz tone and 2 spikes each, in SAMPLES/wav."""
    folder = tmp_path_factory.mktemp("samples")
    t = torch.arange(16000) / 16000
    g = torch.Generator().manual_seed(0)
    for i in range(4):
        wav = 0.01 * torch.randn(16000, generator=g).clamp(-3, 3)
        wav += 0.01 * torch.sin(2 * math.pi * 4000 * t)
        wav[[1000, 9000]] = 0.9
        write_audio(folder / "wav" / f"digit{i}_{i:03d}.wav", wav, 16000)
    return folder


def test_figures_checks_and_json(tool, samples, tmp_path, capsys):
    out = tmp_path / "quality.json"
    report = tool["main"]([str(samples), "--real", BUNDLED_SC09_MINI, "--json_out", str(out)])
    printed = capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    results = report["results"]
    ref = results["sc09:speech_commands_v0.01"]
    assert results["samples"]["num_clips"] == 4 and ref["num_clips"] == 100
    assert report["checked_against"] == "sc09:speech_commands_v0.01"
    # the reference is prepared as the recipe does: every clip peak-normalised to 0.9
    wavs = tool["prepared_reference"](
        "sc09", BUNDLED_SC09_MINI, 16000, 16000, 0.9, ("train", "valid", "test")
    )
    torch.testing.assert_close(wavs.abs().amax(-1), torch.full((100,), 0.9))
    assert results["samples"]["spectral_line"]["excess_db"] > 10.0
    assert abs(ref["spectral_line"]["excess_db"]) < 3.0
    assert results["samples"]["click_counts"] == [2, 2, 2, 2]
    passed = {c["name"].split()[0]: c["passed"] for c in report["checks"]}
    assert passed == {"tail": True, "4000": False, "clicks": False}  # SC09 clips fill the second
    assert "4000 Hz band at most 3 dB above its neighbours" in printed and ": NO" in printed
    assert "RMS 0.6-1.0 s dB" in printed


def test_speaker_shares_with_a_classifier(tool, samples, monkeypatch, capsys):
    torch.manual_seed(0)
    evaluator = SampleEvaluator(
        SpectrogramClassifier(num_speakers=2, channels=(4,), embedding_dim=4),
        SpectrogramNormalizer(-100.0, 0.0),
        MelSpectrogram(),
        num_frames=16,
        sample_rate=16000,
        speakers=["george", "jackson"],
    )
    monkeypatch.setattr(SampleEvaluator, "from_experiment", lambda *a, **k: evaluator)
    report = tool["main"]([str(samples), "--real", str(samples), "--classifier", "stub"])
    figures = report["results"]["samples"]
    assert set(figures["speaker_shares"]) == {"george", "jackson"}
    assert sum(figures["speaker_shares"].values()) == pytest.approx(1.0)
    assert any(c["name"].startswith("no speaker above 30%") for c in report["checks"])
    assert "speaker george" in capsys.readouterr().out


def test_one_line_errors(tool, samples, tmp_path):
    with pytest.raises(SystemExit, match="^error: sample folder .* not found"):
        tool["main"]([str(tmp_path / "missing")])
    with pytest.raises(SystemExit, match="^error: no .wav files"):
        tool["main"]([str(tmp_path)])
    with pytest.raises(SystemExit, match="^error: .* is at 16000 Hz, expected 8000 Hz"):
        tool["main"]([str(samples), "--sample_rate", "8000"])
    with pytest.raises(SystemExit, match="^error: reference folder .* not found|^error: sample"):
        tool["main"]([str(samples), "--real", str(tmp_path / "nope")])
