"""tools/spectrogram_image.py: audio -> PNG -> audio on a bundled LJSpeech clip, and one
"error: ..." line for a missing file, a PNG it did not make, and a wrong sample rate."""

import os
import runpy

import pytest
import soundfile
import torch

from audiodiff.audio import MelSpectrogram, amplitude_to_db, read_audio
from audiodiff.audio.spectrogram_image import load_spectrogram_image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tools", "spectrogram_image.py")
CLIP = os.path.join(REPO, "bundled_data", "ljspeech_mini", "wavs", "LJ001-0008.wav")  # 1.8 s
DIGIT = os.path.join(REPO, "bundled_data", "fsdd", "recordings", "0_george_0.wav")  # 8 kHz


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: small transforms on a shared CPU run faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tool():
    return runpy.run_path(TOOL)["main"]


def test_audio_to_image_to_audio(tool, tmp_path, capsys):
    png, wav = tmp_path / "clip.png", tmp_path / "clip.wav"
    tool(["to-image", CLIP, str(png)])
    assert "64 bands" in capsys.readouterr().out
    image_db, info = load_spectrogram_image(png)
    audio, _ = read_audio(CLIP)
    expected = amplitude_to_db(MelSpectrogram(22050, 1024, 256, n_mels=64)(audio))[0]
    assert image_db.shape == expected.shape
    assert float((image_db - expected).abs().max()) < 0.01  # -100 .. 40 dB holds all of it
    assert info["mel"]["sample_rate"] == 22050 and info["mel"]["hop_length"] == 256
    tool(["to-audio", str(png), str(wav), "--n_iter", "4"])
    data, rate = soundfile.read(wav)
    assert rate == 22050 and len(data) == expected.shape[-1] * 256 and abs(data).max() > 0


def test_resample_option(tool, tmp_path):
    png = tmp_path / "digit.png"
    tool(["to-image", DIGIT, str(png), "--resample"])
    db, info = load_spectrogram_image(png)
    assert info["mel"]["sample_rate"] == 22050 and db.shape[0] == 64


@pytest.mark.parametrize(
    "args, message",
    [
        (["to-image", "missing.wav", "x.png"], "file not found"),
        (["to-image", DIGIT, "x.png"], "8000 Hz"),
        (["to-audio", "missing.png", "x.wav"], "file not found"),
        (["to-audio", CLIP, "x.wav"], "not an image"),
        (["to-audio", "plain.png", "x.wav"], "not a spectrogram image made by audiodiff"),
    ],
    ids=["missing audio", "wrong rate", "missing image", "not an image", "foreign png"],
)
def test_errors_are_one_line(tool, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    from PIL import Image

    Image.new("L", (4, 4)).save(tmp_path / "plain.png")
    with pytest.raises(SystemExit) as exit_info:
        tool(args)
    text = str(exit_info.value.code)
    assert text.startswith("error: ") and message in text and "\n" not in text
    assert not os.path.exists(tmp_path / "x.png") and not os.path.exists(tmp_path / "x.wav")


def test_to_audio_through_a_trained_vocoder_folder(tool, tmp_path, monkeypatch):
    """``--vocoder DIR`` loads the folder with the image's own mel settings (load_vocoder
    checks them against the vocoder's) and writes what that vocoder returns."""
    import audiodiff.inference as inference
    from audiodiff.audio.spectrogram_image import griffin_lim_for

    png, wav = tmp_path / "clip.png", tmp_path / "clip.wav"
    tool(["to-image", CLIP, str(png)])
    _, info = load_spectrogram_image(png)
    calls = []

    def fake_load_vocoder(folder, mel_settings, device):
        calls.append((folder, mel_settings, device))
        return griffin_lim_for(info, n_iter=2)

    monkeypatch.setattr(inference, "load_vocoder", fake_load_vocoder)
    tool(["to-audio", str(png), str(wav), "--vocoder", "/exp/vocoder", "--device", "cpu"])
    assert calls == [("/exp/vocoder", info["mel"], "cpu")]
    assert soundfile.info(str(wav)).samplerate == 22050


def test_vocoder_folder_that_is_not_an_experiment_is_one_line(tool, tmp_path):
    png = tmp_path / "clip.png"
    tool(["to-image", CLIP, str(png)])
    with pytest.raises(SystemExit) as exit_info:
        tool(["to-audio", str(png), str(tmp_path / "x.wav"), "--vocoder", str(tmp_path)])
    text = str(exit_info.value.code)
    assert text.startswith("error: ") and "not a vocoder experiment folder" in text
