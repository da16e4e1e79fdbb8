"""Smoke runs of recipes/SC09/diffwave with SpeechBrain's --debug: both backbones, both modes,
then the checkpoint kept by --debug_persistently through WaveformGenerator, generate.py and
hubconf.py, and the Speech Commands layout."""

import glob
import json
import os
import subprocess
import sys

import pytest
import soundfile
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "SC09", "diffwave")
TINY = {
    "diffwave": ["--residual_channels", "8", "--residual_layers", "4", "--dilation_cycle", "2"],
    "sashimi": ["--d_model", "8", "--n_layers", "1", "--state_size", "8"],
}
COMMON = ["--batch_size", "2", "--noprogressbar"]
QUICK = ["--debug_batches", "1", "--guidance_scale", "1.0"]  # the sampling test keeps guidance


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One prepare + waveform cache folder shared by the FSDD runs of this module."""
    return str(tmp_path_factory.mktemp("prepared"))


def run(args, cwd=RECIPE):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def train(backbone, out, prepared, *flags):
    return run(
        [
            "train.py",
            f"hparams/{backbone}.yaml",
            "--debug",
            "--output_folder",
            str(out),
            "--prepare_folder",
            prepared,
            *TINY[backbone],
            *COMMON,
            *flags,
        ]
    )


@pytest.mark.parametrize("backbone", ["diffwave", "sashimi"])
@pytest.mark.parametrize("digit", [False, True], ids=["unconditional", "digit"])
def test_debug_run_writes_samples(tmp_path, prepared, backbone, digit):
    out = tmp_path / "exp"
    flags = ["--digit_conditioned", "true"] if digit else []
    proc = train(backbone, out, prepared, *QUICK, *flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pattern = "digit[0-9]_000.wav" if digit else "uncond_00[01].wav"
    wavs = sorted(glob.glob(str(out / "samples" / "*" / "wav" / pattern)))
    assert len(wavs) == (10 if digit else 2), os.listdir(out)
    data, sr = soundfile.read(wavs[0])
    assert sr == 16000 and len(data) == 16000 and abs(data).max() > 0
    assert glob.glob(str(out / "samples" / "*" / "spectrograms.png"))
    assert (out / "train_log.txt").exists()


def test_debug_persistently_then_generator_generate_py_and_hubconf(tmp_path, prepared):
    out = tmp_path / "exp"
    proc = train("diffwave", out, prepared, "--digit_conditioned", "true", "--debug_persistently")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert glob.glob(str(out / "save" / "CKPT+*"))

    from audiodiff.inference import WaveformGenerator

    gen = WaveformGenerator.from_hparams(str(out), device="cpu")
    audio = gen.unconditional_generate(N=3)
    assert audio.shape == (3, 16000) and audio.dtype == torch.float32
    assert bool(torch.isfinite(audio).all())
    result = gen.generate(digits=[0, "seven"], num=2)
    assert result["wav"].shape == (4, 16000)
    assert [g["digit"] for g in result["grid"]] == [0, 0, 7, 7]
    ddpm = gen.generate(digits=[3], num=1, sampler="ddim", steps=3)
    assert ddpm["wav"].shape == (1, 16000)
    with pytest.raises(ValueError, match="unknown digit"):
        gen.generate(digits=[12])
    # out of device memory: the batch is halved and sampling goes on
    real_chunk, sizes = gen._sample_chunk, []

    def tight_memory(chunk, *args):
        sizes.append(len(chunk))
        if len(chunk) > 2:
            raise torch.OutOfMemoryError("fake")
        return real_chunk(chunk, *args)

    gen._sample_chunk = tight_memory
    assert gen.generate(digits=[1, 2, 3], num=2, batch_size=6)["wav"].shape == (6, 16000)
    assert sizes == [6, 3] + [1] * 6  # 6 -> 3 -> 1 (halved, rounded down)
    del gen._sample_chunk
    names = [os.path.basename(p) for p in gen.save(str(tmp_path / "api"), result)]
    assert names == ["digit0_000.wav", "digit0_001.wav", "digit7_000.wav", "digit7_001.wav"]

    gen_dir = tmp_path / "gen"
    proc = run(
        [
            "generate.py",
            str(out),
            "--digits",
            "1",
            "nine",
            "--num",
            "2",
            "--out",
            str(gen_dir),
            "--device",
            "cpu",
            "--shift_ensemble",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = sorted(os.path.basename(p) for p in glob.glob(str(gen_dir / "wav" / "*.wav")))
    assert names == ["digit1_000.wav", "digit1_001.wav", "digit9_000.wav", "digit9_001.wav"]
    assert (gen_dir / "spectrograms.png").exists()
    proc = run(["generate.py", str(out), "--digits", "eleven", "--device", "cpu"])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "unknown digit" in proc.stderr
    # sample_data_variance: auto reads the training clips' mean square from data_stats.json;
    # the same seed from the unit start (null, the default) gives other samples
    stats = json.loads((out / "data_stats.json").read_text())
    assert 0 < stats["mean_square"] < 0.1 and stats["num_items"] > 0
    gen = WaveformGenerator.from_hparams(str(out), device="cpu")
    assert gen.hparams["sample_data_variance"] is None
    unit = gen.generate(digits=[4], num=1)["wav"]
    gen.hparams["sample_data_variance"] = "auto"
    assert not torch.allclose(gen.generate(digits=[4], num=1)["wav"], unit)
    shifted = gen.use_shift_ensemble(shifts=2).generate(digits=[4], num=1)["wav"]
    assert shifted.shape == (1, 16000) and bool(torch.isfinite(shifted).all())
    gen.hparams["sample_data_variance"] = "abc"  # generate.py makes this ValueError one line
    with pytest.raises(ValueError, match="sample_data_variance must be"):
        gen.generate(digits=[4], num=1)

    hub = torch.hub.load(REPO, "diffwave_sc09", str(out), source="local", device="cpu")
    assert hub.unconditional_generate(N=2).shape == (2, 16000)
    sys.path.insert(0, REPO)
    try:
        import hubconf
    finally:
        sys.path.remove(REPO)
    with pytest.raises(ValueError, match="holds a DiffWave model"):
        hubconf.sashimi_sc09(str(out), device="cpu")
    with pytest.raises(FileNotFoundError, match="results/sc09_diffwave"):
        hubconf.diffwave_sc09(str(tmp_path / "nowhere"))


def test_unconditional_model_refuses_digits(tmp_path, prepared):
    out = tmp_path / "exp"
    proc = train("sashimi", out, prepared, *QUICK, "--debug_persistently")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from audiodiff.inference import WaveformGenerator

    gen = WaveformGenerator.from_hparams(str(out), device="cpu")
    assert gen.unconditional_generate(N=1, sampler="ddpm", steps=4).shape == (1, 16000)
    with pytest.raises(ValueError, match="not digit-conditioned"):
        gen.generate(digits=[3])


def test_missing_data_folder_is_one_clear_line(tmp_path):
    proc = run(
        [
            "train.py",
            "hparams/diffwave.yaml",
            "--debug",
            "--output_folder",
            str(tmp_path / "exp"),
            "--data_folder",
            str(tmp_path / "nowhere"),
        ]
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--data_folder" in proc.stderr.strip().splitlines()[-1]


def test_speech_commands_layout(tmp_path):
    """A tiny Speech Commands copy: word folders, official lists, 16 kHz clips under 1 s."""
    import numpy as np

    root = tmp_path / "speech_commands"
    rng = np.random.default_rng(0)
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for word in words + ["yes"]:
        for speaker in ("0a0b0c0d", "1a1b1c1d", "2a2b2c2d"):
            path = root / word / f"{speaker}_nohash_0.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, 0.1 * rng.standard_normal(12000), 16000)
    (root / "validation_list.txt").write_text(
        "".join(f"{w}/1a1b1c1d_nohash_0.wav\n" for w in words)
    )
    (root / "testing_list.txt").write_text("".join(f"{w}/2a2b2c2d_nohash_0.wav\n" for w in words))
    out = tmp_path / "exp"
    proc = run(
        [
            "train.py",
            "hparams/diffwave.yaml",
            "--debug",
            "--output_folder",
            str(out),
            "--data_folder",
            str(root),
            *TINY["diffwave"],
            *COMMON,
            *QUICK,
            "--digit_conditioned",
            "true",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cached = torch.load(out / "prepared" / "waveforms_train.pt", weights_only=True)
    assert cached["value"]["wav"].shape == (10, 16000)
    assert sorted(cached["value"]["digit"].tolist()) == list(range(10))
    assert len(glob.glob(str(out / "samples" / "*" / "wav" / "digit*.wav"))) == 10
