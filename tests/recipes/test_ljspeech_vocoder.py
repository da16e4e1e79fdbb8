"""Smoke runs of recipes/LJSpeech/vocoder with SpeechBrain's --debug (DiffWave, PriorGrad,
SpecGrad on the bundled LJSpeech clips; SpecGrad on the bundled FSDD at 16 kHz), then the kept
checkpoint through DiffusionVocoder, inference.py, load_vocoder's settings check, and the
AudioMNIST recipe's --vocoder (train.py, SpectrogramGenerator, generate.py)."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import soundfile
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "LJSpeech", "vocoder")
AUDIOMNIST = os.path.join(REPO, "recipes", "AudioMNIST", "diffusion")
BUNDLED_CLIP = os.path.join(REPO, "bundled_data", "ljspeech_mini", "wavs", "LJ001-0001.wav")
TINY = [
    "--residual_channels", "8", "--residual_layers", "2", "--dilation_cycle", "2",
    "--batch_size", "2", "--segment_frames", "8", "--valid_crops", "2",
    "--num_eval_clips", "1", "--eval_seconds", "0.3", "--max_utterances", "3",
    "--debug_batches", "1", "--noprogressbar",
]  # fmt: skip
VOCODERS = ["diffwave", "priorgrad", "specgrad"]


def run(args, cwd=RECIPE):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def train(vocoder, out, *flags):
    return run(
        ["train.py", f"hparams/{vocoder}.yaml", "--debug", "--output_folder", str(out)]
        + TINY
        + list(flags)
    )


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A SpecGrad debug experiment whose checkpoint is kept (--debug_persistently)."""
    out = tmp_path_factory.mktemp("specgrad") / "exp"
    proc = train("specgrad", out, "--debug_persistently")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def small_fsdd(tmp_path_factory):
    """180 of the bundled FSDD recordings (repetitions 0, 5 and 10: one per split for every
    digit and speaker), so the digit recipes prepare in seconds."""
    folder = tmp_path_factory.mktemp("fsdd") / "recordings"
    folder.mkdir()
    for path in glob.glob(os.path.join(REPO, "bundled_data", "fsdd", "recordings", "*.wav")):
        if os.path.basename(path).rsplit("_", 1)[1] in ("0.wav", "5.wav", "10.wav"):
            shutil.copy(path, folder)
    return str(folder)


@pytest.fixture(scope="module")
def fsdd_experiment(tmp_path_factory, small_fsdd):
    """A 16 kHz PriorGrad vocoder on FSDD (the AudioMNIST recipe's mel)."""
    out = tmp_path_factory.mktemp("fsdd") / "exp"
    flags = ["--dataset", "fsdd", "--data_folder", small_fsdd, "--debug_persistently"]
    proc = train("priorgrad", out, *flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_three_yamls_differ_only_in_the_prior():
    def shared(name):
        text = open(os.path.join(RECIPE, "hparams", f"{name}.yaml"), encoding="utf-8").read()
        text = re.sub(r"# ---- prior:.*?# ---- end of prior ----", "PRIOR", text, flags=re.S)
        text = re.sub(r"^vocoder_name: \w+$", "NAME", text, flags=re.M)
        return text.split("\n", 7)[7]  # after the header lines naming the file

    assert shared("diffwave") == shared("priorgrad") == shared("specgrad")


def test_optimizer_step_limit_is_an_int():
    """SpeechBrain 1.1 parses --optimizer_step_limit as a string (its default is None): the
    recipe's VocoderBrain makes it an int (TrainingBudgetMixin; the equal-steps comparisons use
    it), and train.py exits with one line for a value that is not an integer."""
    from speechbrain.utils.run_opts import RunOptions

    from audiodiff.training import TrainingBudgetMixin
    from audiodiff.training.vocoder_brain import VocoderBrain

    assert issubclass(VocoderBrain, TrainingBudgetMixin)
    _, run_opts, _ = RunOptions.from_command_line_args(["x.yaml", "--optimizer_step_limit", "7"])
    modules = {"model": torch.nn.Linear(1, 1)}
    assert VocoderBrain(modules=modules, run_opts=run_opts).optimizer_step_limit == 7
    assert VocoderBrain(modules=modules).optimizer_step_limit is None
    proc = run(["train.py", "hparams/diffwave.yaml", "--optimizer_step_limit", "many"])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "error: --optimizer_step_limit expects an integer, got 'many'", last


@pytest.mark.parametrize(
    "vocoder, flags",
    [("diffwave", []), ("priorgrad", ["--prior_precondition", "true"])],
    ids=["diffwave", "priorgrad_precondition"],
)
def test_debug_run_writes_vocoded_clips(tmp_path, vocoder, flags):
    out = tmp_path / "exp"
    proc = train(vocoder, out, *flags)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_run(out, 22050)
    if flags:  # the experiment remembers the parameterisation its network was trained in
        assert "prior_precondition: true" in (out / "hyperparams.yaml").read_text()


def check_run(out, sample_rate):
    wavs = glob.glob(str(out / "samples" / "*" / "wav" / "*.wav"))
    assert len(wavs) == 2, wavs  # one vocoded clip + its reference
    data, rate = soundfile.read(sorted(wavs)[0])
    assert rate == sample_rate and len(data) > 0 and abs(data).max() > 0
    assert glob.glob(str(out / "samples" / "[0-9]*" / "spectrograms.png"))
    metrics = json.load(open(glob.glob(str(out / "samples" / "[0-9]*" / "metrics.json"))[0]))
    assert {"mrstft", "mel_l1", "lsd"} <= set(metrics["mean"])
    settings = json.load(open(out / "mel_settings.json"))
    assert settings["sample_rate"] == sample_rate and settings["hop_length"] == 256


def test_specgrad_run_and_from_hparams(experiment):
    check_run(experiment, 22050)
    from audiodiff.audio import Vocoder, read_audio
    from audiodiff.diffusion import SpecGradPrior
    from audiodiff.inference import DiffusionVocoder

    vocoder = DiffusionVocoder.from_hparams(str(experiment), device="cpu")
    assert isinstance(vocoder, Vocoder) and isinstance(vocoder.prior, SpecGradPrior)
    assert vocoder.prior.is_fitted and vocoder.sample_rate == 22050
    wav, _ = read_audio(BUNDLED_CLIP)
    wav = wav[:1500]
    mel_db = vocoder.mel_db_of(wav)
    out = vocoder(mel_db)  # the Vocoder interface: 6 steps
    assert out.shape == (1, mel_db.shape[-1] * 256) and bool(torch.isfinite(out).all())
    torch.testing.assert_close(vocoder.vocode(mel_db), out)  # seeded: reproducible
    assert not torch.equal(vocoder.vocode(mel_db, seed=1), out)
    assert vocoder.vocode(mel_db, steps=50).shape == out.shape  # the full chain
    assert vocoder.resynthesize(wav).shape == wav.shape
    assert vocoder.resynthesize(wav[:500], sample_rate=11025).shape == (1000,)
    # the network in the prior's whitened domain: another function of the same weights
    assert vocoder.precondition is False  # the experiment's prior_precondition
    whitened = DiffusionVocoder.from_hparams(str(experiment), device="cpu", precondition=True)
    pre = whitened(mel_db)
    assert pre.shape == out.shape and bool(torch.isfinite(pre).all())
    assert not torch.equal(pre, out)


def test_a_mismatched_mel_gets_a_clear_error(experiment, fsdd_experiment):
    from audiodiff.audio import MelSpectrogram, amplitude_to_db, read_audio
    from audiodiff.inference import DiffusionVocoder, VocoderMismatchError, load_vocoder

    vocoder = DiffusionVocoder.from_hparams(str(experiment), device="cpu")
    wav, _ = read_audio(BUNDLED_CLIP)
    mel = MelSpectrogram(sample_rate=22050, n_mels=80)(wav[:4000])
    with pytest.raises(VocoderMismatchError, match="40 bands.*trained on 80"):
        vocoder.vocode(amplitude_to_db(MelSpectrogram(sample_rate=22050, n_mels=40)(wav[:4000])))
    with pytest.raises(VocoderMismatchError, match="looks normalised"):
        vocoder.vocode(torch.log(mel.clamp(min=1e-5)) / 12)  # a [-1, 1]-like mel
    with pytest.raises(VocoderMismatchError, match="below this vocoder's dB floor"):
        vocoder.vocode(amplitude_to_db(mel) * 2)  # e.g. power dB of a power mel
    # a front-end's settings: load_vocoder names what differs
    with pytest.raises(VocoderMismatchError, match="sample_rate 16000 \\(vocoder: 22050\\)"):
        load_vocoder(str(experiment), MelSpectrogram(sample_rate=16000).settings(), device="cpu")
    with pytest.raises(VocoderMismatchError, match="hop_length 200"):
        load_vocoder(
            str(experiment), MelSpectrogram(22050, hop_length=200).settings(), device="cpu"
        )
    fsdd = load_vocoder(str(fsdd_experiment), MelSpectrogram(16000).settings(), device="cpu")
    assert fsdd.sample_rate == 16000
    with pytest.raises(FileNotFoundError, match="not a vocoder experiment folder"):
        load_vocoder(str(experiment / "save"))
    with pytest.raises(FileNotFoundError, match="not found|not a vocoder"):
        load_vocoder(str(experiment / "missing"))


def test_inference_cli_round_trips_a_bundled_clip(experiment, tmp_path):
    import torchaudio

    short = tmp_path / "in.wav"
    data, rate = soundfile.read(BUNDLED_CLIP)
    soundfile.write(short, data[:3000], rate)
    out = tmp_path / "out.wav"
    proc = run(["inference.py", str(short), str(out), "--exp", str(experiment), "--device", "cpu"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    got, got_rate = soundfile.read(out)
    assert got_rate == 22050 and len(got) == 3000 and abs(got).max() > 0
    assert (tmp_path / "out.png").exists()
    # another rate is resampled; a wrong path or a corrupt file gets one error line
    soundfile.write(
        tmp_path / "in16.wav",
        torchaudio.functional.resample(torch.tensor(data[:3000]).float(), 22050, 16000).numpy(),
        16000,
    )
    proc = run(["inference.py", str(tmp_path / "in16.wav"), str(out), "--exp", str(experiment)])
    assert proc.returncode == 0 and "resampled" in proc.stdout, proc.stderr[-2000:]
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    proc = run(["inference.py", str(tmp_path / "bad.wav"), str(out), "--exp", str(experiment)])
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode != 0 and last.startswith("error: cannot read audio"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_audiomnist_vocoder_option(fsdd_experiment, experiment, small_fsdd, tmp_path):
    """--vocoder DIR in the AudioMNIST recipe: epoch-end samples, SpectrogramGenerator and
    generate.py use the 16 kHz diffusion vocoder; a 22 kHz one is refused in one line."""
    out = tmp_path / "digits"
    common = ["train.py", "hparams/train.yaml", "--debug", "--debug_persistently"]
    tiny = ["--base_channels", "8", "--channel_mults", "[1, 2]", "--attention_levels", "[1]"]
    tiny += ["--sample_steps", "2", "--batch_size", "4", "--noprogressbar"]
    tiny += ["--n_mels", "80", "--f_max", "8000"]  # the vocoder's front-end (mel_16k.yaml)
    tiny += ["--prepare_folder", str(tmp_path / "prepared"), "--data_folder", small_fsdd]
    proc = run(
        common + tiny + ["--output_folder", str(out), "--vocoder", str(fsdd_experiment)], AUDIOMNIST
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert glob.glob(str(out / "samples" / "*" / "wav" / "*.wav"))

    from audiodiff.inference import DiffusionVocoder, SpectrogramGenerator

    gen = SpectrogramGenerator.from_hparams(str(out), device="cpu")
    assert isinstance(gen.modules["vocoder"], DiffusionVocoder)
    result = gen.generate(num=1, steps=2)
    assert result["wav"].shape[-1] == result["mel_db"].shape[-1] * 256
    proc = run(
        ["generate.py", str(out), "--num", "1", "--steps", "2", "--device", "cpu", "--out",
         str(tmp_path / "gen"), "--vocoder", str(fsdd_experiment)],
        AUDIOMNIST,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run(
        ["generate.py", str(out), "--num", "1", "--device", "cpu", "--out", str(tmp_path / "x"),
         "--vocoder", str(experiment)],
        AUDIOMNIST,
    )  # fmt: skip
    assert proc.returncode != 0 and "sample_rate 16000 (vocoder: 22050)" in proc.stderr
    assert "Traceback" not in proc.stderr
