"""Smoke runs of recipes/FSDD/tts (--debug, tiny models) for the three content routes, each
with another speaker source, then inference on the checkpoints they keep: output lengths that
follow the text (or the source), and one clear line for every bad input."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "FSDD", "tts")
HERE = os.path.dirname(os.path.abspath(__file__))
FSDD = os.path.join(REPO, "bundled_data", "fsdd", "recordings")
TINY = [
    "--base_channels",
    "8",
    "--channel_mults",
    "[1, 2]",
    "--attention_levels",
    "[1]",
    "--num_heads",
    "2",
    "--speaker_dim",
    "8",
    "--speaker_hidden_dim",
    "16",
    "--context_dim",
    "16",
    "--sample_steps",
    "2",
    "--batch_size",
    "8",
    "--noprogressbar",
]
TEXT_TINY = ["--text_dim", "16", "--text_layers", "1"]
ROUTES = {
    # route: (hparams, extra flags) -- every route with a different speaker source
    "phoneme": ("phoneme.yaml", [*TEXT_TINY, "--duration_filter_dim", "16"]),
    "sentence": (
        "sentence.yaml",
        [*TEXT_TINY, "--sentence_dim", "8", "--speaker_source", "table", "--tokenizer", "char"],
    ),
    "spectrogram": (
        "spectrogram.yaml",
        [
            "--content_hidden_dim",
            "16",
            "--speaker_source",
            "embedding",
            "--style_encoder",
            "standin_style_encoder:load",
            "--style_encoder_folder",
            HERE,
        ],
    ),
}


def env():
    paths = [REPO, HERE, os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))


def run(args):
    return subprocess.run(
        [sys.executable, *args], cwd=RECIPE, capture_output=True, text=True, timeout=600, env=env()
    )


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    """Train every route for two debug epochs; returns route -> experiment folder."""
    prepared = str(tmp_path_factory.mktemp("prepared"))
    folders = {}
    for route, (hparams, flags) in ROUTES.items():
        out = str(tmp_path_factory.mktemp(route))
        proc = run(
            [
                "train.py",
                f"hparams/{hparams}",
                "--debug",
                "--debug_persistently",
                "--output_folder",
                out,
                "--prepare_folder",
                prepared,
                *TINY,
                *flags,
            ]
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        folders[route] = out
    return folders


@pytest.fixture(scope="module")
def models(experiments):
    if HERE not in sys.path:
        sys.path.insert(0, HERE)  # the stand-in style encoder
    from audiodiff.inference import TTS

    return {route: TTS.from_hparams(folder, device="cpu") for route, folder in experiments.items()}


@pytest.mark.parametrize("route", list(ROUTES))
def test_debug_run_writes_named_samples(experiments, route):
    folder = glob.glob(os.path.join(experiments[route], "samples", "*"))[-1]
    wavs = sorted(glob.glob(os.path.join(folder, "wav", "*__*_000.wav")))
    assert wavs, os.listdir(folder)
    data, rate = soundfile.read(wavs[0])
    assert rate == 16000 and len(data) > 0 and np.abs(data).max() > 0
    assert os.path.isfile(os.path.join(folder, "spectrograms.png"))
    labels = json.load(open(os.path.join(folder, "labels.json")))["samples"]
    stem = os.path.basename(wavs[0])[:-4]
    assert stem.split("__")[1].startswith(labels[stem]["speaker"])
    assert glob.glob(os.path.join(experiments[route], "save", "CKPT+*"))


def ref(name="7_theo_3"):
    return os.path.join(FSDD, f"{name}.wav")


def test_synthesis_length_follows_the_text(models):
    tts = models["phoneme"]
    short = tts.synthesize("seven", ref(), steps=2)
    long = tts.synthesize("seven " * 6, ref(), steps=2)
    hop = tts.hparams["hop_length"]
    for out in (short, long):
        assert out["wav"].numel() == out["mel_db"].shape[-1] * hop
    assert long["mel_db"].shape[-1] > 2 * short["mel_db"].shape[-1]
    slow = tts.synthesize("seven", ref(), steps=2, length_scale=3.0)
    assert slow["mel_db"].shape[-1] > short["mel_db"].shape[-1]


def test_sentence_route_with_a_speaker_table(models):
    tts = models["sentence"]
    out = tts.synthesize("seven", speaker="theo", steps=2)
    assert out["wav"].numel() == out["mel_db"].shape[-1] * tts.hparams["hop_length"] > 0
    from audiodiff.inference import TTSInputError

    with pytest.raises(TTSInputError, match="unknown speaker 'bob'"):
        tts.synthesize("seven", speaker="bob")
    with pytest.raises(TTSInputError, match="closed set"):
        tts.synthesize("seven", ref())


def test_conversion_keeps_the_source_length(models):
    tts = models["spectrogram"]
    source = ref("3_jackson_1")
    out = tts.convert(
        source, ref("7_theo_3"), steps=2, guidance_scale=2.0, speaker_guidance_scale=3.0
    )
    wav, rate = soundfile.read(source)
    frames = len(wav) * 16000 // rate // tts.hparams["hop_length"] + 1
    assert abs(out["mel_db"].shape[-1] - frames) <= 1
    assert out["wav"].numel() == out["mel_db"].shape[-1] * tts.hparams["hop_length"]


@pytest.fixture(scope="module")
def bad_audio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    soundfile.write(folder / "silent.wav", np.zeros(8000), 16000)
    soundfile.write(
        folder / "short.wav", 0.1 * np.random.default_rng(0).standard_normal(400), 16000
    )
    soundfile.write(folder / "low.wav", 0.1 * np.random.default_rng(0).standard_normal(4000), 4000)
    (folder / "corrupt.wav").write_bytes(b"RIFF0000WAVEjunk")
    return folder


@pytest.mark.parametrize(
    "text, reference, match",
    [
        ("", None, "text is empty"),
        ("   ", None, "text is empty"),
        ("seven eleven", None, "'ELEVEN'"),
        ("seven ü", None, "'Ü'"),
        ("seven " * 80, None, "supports at most"),
        ("seven", "silent.wav", "silent"),
        ("seven", "short.wav", "too short"),
        ("seven", "low.wav", "4000 Hz"),
        ("seven", "corrupt.wav", "corrupt"),
        ("seven", "missing.wav", "not found"),
    ],
)
def test_bad_input_gets_one_line(models, bad_audio, text, reference, match):
    from audiodiff.inference import TTSInputError

    path = ref() if reference is None else str(bad_audio / reference)
    with pytest.raises(TTSInputError, match=match) as info:
        models["phoneme"].synthesize(text, path, steps=2)
    assert "\n" not in str(info.value)


def test_bad_source_and_wrong_method(models, bad_audio):
    from audiodiff.inference import TTSInputError

    with pytest.raises(TTSInputError, match="silent"):
        models["spectrogram"].convert(str(bad_audio / "silent.wav"), ref())
    with pytest.raises(TTSInputError, match="use convert"):
        models["spectrogram"].synthesize("seven", ref())
    with pytest.raises(TTSInputError, match="use synthesize"):
        models["phoneme"].convert(ref(), ref())


def test_cli_writes_wav_and_prints_one_error_line(experiments, tmp_path, bad_audio):
    out = tmp_path / "out.wav"
    proc = run(
        [
            "synthesize.py",
            "seven",
            "--ref",
            ref(),
            "--out",
            str(out),
            "--exp",
            experiments["phoneme"],
            "--steps",
            "2",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.exists() and (tmp_path / "out.png").exists()
    proc = run(
        [
            "synthesize.py",
            "seven",
            "--ref",
            str(bad_audio / "silent.wav"),
            "--out",
            str(out),
            "--exp",
            experiments["phoneme"],
        ]
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("error: the reference is silent")
    assert "Traceback" not in proc.stderr


def test_speechocean762_debug_run(tmp_path):
    """The speechocean762 route on the bundled 5-speaker mini copy, held-out speakers kept out
    of training."""
    import audiodiff.data as data

    out = tmp_path / "so762"
    proc = run(
        [
            "train.py",
            "hparams/phoneme.yaml",
            "--debug",
            "--debug_persistently",
            "--dataset",
            "speechocean762",
            "--data_folder",
            data.BUNDLED_SPEECHOCEAN762,
            "--output_folder",
            str(out),
            *TINY,
            *TEXT_TINY,
            "--duration_filter_dim",
            "16",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    speakers = set(json.load(open(out / "speakers.json")))
    assert speakers and not {"1099", "1186", "1228", "2112", "2327"} & speakers
    assert glob.glob(str(out / "samples" / "*" / "wav" / "*.wav"))
