"""16-bit spectrogram PNGs: the dB round trip, orientation, the text chunk, clear errors, and
PNG -> audio through Griffin-Lim or any vocoder object."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from audiodiff.audio import MelSpectrogram, Vocoder
from audiodiff.audio.spectrogram_image import (
    IMAGE_KEY,
    LEVELS,
    SpectrogramImageError,
    db_to_levels,
    image_to_audio,
    levels_to_db,
    load_spectrogram_image,
    save_spectrogram_image,
)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared CPU run far faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


MEL = MelSpectrogram(22050, 1024, 256, n_mels=64)


def test_round_trip_within_bound_and_not_exact():
    floor, top = -100.0, 40.0
    db = floor + (top - floor) * torch.rand(64, 300, generator=torch.Generator().manual_seed(0))
    back = levels_to_db(db_to_levels(db, floor, top), floor, top)
    error = (back.double() - db.double()).abs()
    step = (top - floor) / LEVELS
    assert float(error.max()) <= step / 2 + 1e-5  # rounding to the nearest level
    assert float(error.max()) < 0.01
    assert float(error.max()) > step / 10  # quantised, not stored exactly
    # the end points are exact
    ends = levels_to_db(db_to_levels(torch.tensor([[floor, top]]), floor, top), floor, top)
    torch.testing.assert_close(ends, torch.tensor([[floor, top]]))


def test_values_outside_the_range_are_clipped():
    levels = db_to_levels(torch.tensor([[-150.0, 99.0]]), -100.0, 40.0)
    assert levels.tolist() == [[0, LEVELS]]


def test_png_orientation_mode_and_chunk(tmp_path):
    db = torch.full((64, 10), -100.0)
    db[0] = 40.0  # the lowest band is loud
    path = save_spectrogram_image(tmp_path / "s.png", db, MEL.settings())
    with Image.open(path) as image:
        assert image.mode == "I;16" and image.size == (10, 64)
        pixels = np.array(image)
        info = json.loads(image.text[IMAGE_KEY])
    assert pixels[-1].tolist() == [LEVELS] * 10  # bottom row = lowest band
    assert pixels[0].tolist() == [0] * 10
    assert info["floor_db"] == -100.0 and info["top_db"] == 40.0 and info["levels"] == LEVELS
    assert info["mel"] == MEL.settings()
    back, read_info = load_spectrogram_image(path)
    torch.testing.assert_close(back, db)
    assert read_info == info


def test_saved_file_round_trip_below_a_hundredth_of_a_db(tmp_path):
    db = torch.linspace(-99.0, 39.0, 64 * 50).reshape(64, 50)
    back, _ = load_spectrogram_image(save_spectrogram_image(tmp_path / "s.png", db, MEL.settings()))
    assert float((back - db).abs().max()) < 0.01


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: None, "file not found"),
        (lambda p: p.write_text("hello"), "not an image"),
        (lambda p: Image.fromarray(np.zeros((64, 5), np.uint16)).save(p), "not a spectrogram"),
        (lambda p: Image.fromarray(np.zeros((64, 5), np.uint8)).save(p, format="JPEG"), "PNG"),
    ],
    ids=["missing", "text", "png without chunk", "jpeg"],
)
def test_unreadable_images_raise_clear_errors(tmp_path, make, match):
    path = tmp_path / "x.png"
    make(path)
    with pytest.raises(SpectrogramImageError, match=match):
        load_spectrogram_image(path)


def test_band_count_and_bit_depth_are_checked(tmp_path):
    path = save_spectrogram_image(tmp_path / "s.png", torch.zeros(64, 4), MEL.settings())
    with Image.open(path) as image:
        text = image.text[IMAGE_KEY]
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(IMAGE_KEY, text)
    Image.fromarray(np.zeros((32, 4), np.uint16)).save(tmp_path / "bands.png", pnginfo=info)
    with pytest.raises(SpectrogramImageError, match="n_mels=64"):
        load_spectrogram_image(tmp_path / "bands.png")
    Image.fromarray(np.zeros((64, 4), np.uint8)).save(tmp_path / "8bit.png", pnginfo=info)
    with pytest.raises(SpectrogramImageError, match="16-bit"):
        load_spectrogram_image(tmp_path / "8bit.png")
    with pytest.raises(ValueError, match="bands"):
        save_spectrogram_image(tmp_path / "y.png", torch.zeros(80, 4), MEL.settings())


class RecordingVocoder(Vocoder):
    """A stand-in for a trained vocoder: returns a constant and remembers its input."""

    def forward(self, mel_db):
        self.seen = mel_db.clone()
        return torch.full((mel_db.shape[0], mel_db.shape[-1] * self.hop_length), 0.25)


def test_image_to_audio_with_a_vocoder_object(tmp_path):
    db = torch.linspace(-80.0, 0.0, 64 * 6).reshape(64, 6)
    path = save_spectrogram_image(tmp_path / "s.png", db, MEL.settings())
    vocoder = RecordingVocoder(22050, 256)
    wav, rate = image_to_audio(path, tmp_path / "out.wav", vocoder=vocoder)
    assert rate == 22050 and wav.shape == (6 * 256,)
    torch.testing.assert_close(wav, torch.full((6 * 256,), 0.25))
    torch.testing.assert_close(vocoder.seen[0], db, atol=0.01, rtol=0)
    assert (tmp_path / "out.wav").is_file()
    with pytest.raises(SpectrogramImageError, match="sample_rate is 16000"):
        image_to_audio(path, vocoder=RecordingVocoder(16000, 256))


def test_image_to_audio_griffin_lim_default(tmp_path):
    db = torch.full((64, 8), -60.0)
    path = save_spectrogram_image(tmp_path / "s.png", db, MEL.settings())
    wav, rate = image_to_audio(path, n_iter=2)
    assert rate == 22050 and wav.shape == (8 * 256,) and bool(torch.isfinite(wav).all())
