"""Spectrogram metrics: frame Frechet distance, modulation spectrum and its 2-8 Hz share,
the shuffled-frames control, exhaustive nearest-crop search and the memorisation ratio, and
the whole evaluation on data whose answers are known."""

import math

import pytest
import torch

from audiodiff.audio import SpectrogramNormalizer
from audiodiff.data.crops import evaluation_crops
from audiodiff.metrics.spectrogram import (
    frame_energy_db,
    frame_frechet_distance,
    memorisation_ratio,
    modulation_share,
    modulation_spectrum,
    nearest_crop_distances,
    shuffle_frames,
)
from audiodiff.metrics.spectrogram_eval import evaluate_spectrograms, format_spectrogram_table


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared CPU run far faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


RATE = 86.1328125  # 22050 / 256


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def syllables(n, frames=256, rate_hz=4.0, seed=0):
    """Speech-like images: a band pattern whose loudness swings at ``rate_hz`` (+ noise)."""
    g = generator(seed)
    t = torch.arange(frames) / RATE
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    envelope = 15 * torch.sin(2 * math.pi * rate_hz * t + phase)  # [n, frames]
    bands = torch.linspace(-20, -60, 8)[None, :, None]
    return bands + envelope[:, None, :] + torch.randn(n, 8, frames, generator=g)


def test_frame_fd_ignores_order_and_sees_level_shifts():
    a = syllables(6)
    b = a[:, :, torch.randperm(256, generator=generator(1))]
    assert frame_frechet_distance(a, b) == pytest.approx(0.0, abs=1e-6)
    assert frame_frechet_distance(a, a - 3.0) == pytest.approx(8 * 9.0, rel=1e-6)


def test_frame_energy_is_the_db_sum_of_band_powers():
    mel = torch.tensor([[[0.0, -10.0], [0.0, -10.0]]])  # two bands, each 0 dB then -10 dB
    expected = 10 * torch.log10(torch.tensor([[2.0, 0.2]], dtype=torch.float64))
    torch.testing.assert_close(frame_energy_db(mel), expected)


def test_modulation_spectrum_peaks_at_the_envelope_rate():
    freqs, spectra = modulation_spectrum(syllables(4, rate_hz=5.0), RATE)
    torch.testing.assert_close(spectra.sum(-1), torch.ones(4, dtype=torch.float64))
    assert float(freqs[spectra.mean(0).argmax()]) == pytest.approx(5.0, abs=0.4)
    assert float(spectra[:, 0].abs().max()) == 0.0  # mean removed, DC zeroed


def test_share_separates_syllables_from_shuffled_frames():
    real = syllables(20)
    shuffled = shuffle_frames(real, generator(2))
    real_share = modulation_share(real, RATE)
    shuffled_share = modulation_share(shuffled, RATE)
    assert float(real_share.mean()) > 0.8
    # a white envelope: about (8 - 2) / (RATE / 2) of the bins
    assert float(shuffled_share.mean()) == pytest.approx(6 / (RATE / 2), abs=0.04)
    # same frames, so the same frame statistics
    assert frame_frechet_distance(real, shuffled) == pytest.approx(0.0, abs=1e-6)
    assert sorted(real.flatten().tolist()) == sorted(shuffled.flatten().tolist())


def test_constant_envelope_has_zero_share():
    assert modulation_share(torch.zeros(2, 4, 64), RATE).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="4 frames"):
        modulation_spectrum(torch.zeros(1, 4, 3), RATE)


def brute_force_nearest(queries, clips, stride=1):
    best = []
    width = queries.shape[-1]
    for q in queries:
        d = min(
            float((q - clip[:, o : o + width]).square().mean().sqrt())
            for clip in clips
            for o in range(0, clip.shape[-1] - width + 1, stride)
        )
        best.append(d)
    return torch.tensor(best, dtype=torch.float64)


@pytest.mark.parametrize("stride", [1, 3])
def test_nearest_crop_matches_brute_force(stride):
    g = generator(3)
    clips = [torch.rand(4, n, generator=g) * 2 - 1 for n in (30, 17, 45)]
    queries = torch.rand(5, 4, 12, generator=g) * 2 - 1
    queries[0] = clips[2][:, 21:33]  # a copy of a training window
    dist, matches = nearest_crop_distances(queries, clips, stride=stride, chunk=2)
    torch.testing.assert_close(dist, brute_force_nearest(queries, clips, stride))
    if stride == 1:
        assert matches[0] == (2, 21) and float(dist[0]) == 0.0


def test_short_clips_are_padded_with_the_floor():
    clip = torch.full((2, 3), 0.5)
    query = torch.cat([clip, torch.full((2, 2), -1.0)], dim=1)[None]
    dist, matches = nearest_crop_distances(query, [clip])
    assert float(dist[0]) == 0.0 and matches == [(0, 0)]


def test_memorisation_ratio_definitions():
    out = memorisation_ratio(torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0.2, 0.4, 0.6]))
    assert out["ratio_median"] == pytest.approx(0.25 / 0.4)
    assert out["ratio_mean"] == pytest.approx(0.25 / 0.4)
    assert out["fraction_below_heldout_min"] == pytest.approx(0.25)
    with pytest.raises(ValueError):
        memorisation_ratio(torch.tensor([]), torch.tensor([1.0]))


def test_evaluation_tells_copies_from_new_speech_and_noise():
    clips = [syllables(1, frames=120, seed=s)[0] for s in range(12)]
    train, heldout, fresh = clips[:6], clips[6:9], clips[9:]
    norm = SpectrogramNormalizer().fit(train)
    copies, _ = evaluation_crops(train, 64, 12, seed=5)
    new, _ = evaluation_crops(fresh, 64, 12, seed=5)
    noise = -40 + 10 * torch.randn(12, 8, 64, generator=generator(9))
    results = {
        name: evaluate_spectrograms(s, heldout, train, norm, RATE, num_heldout=12)
        for name, s in (("copies", copies), ("new", new), ("noise", noise))
    }
    assert results["copies"]["memorisation"]["ratio_median"] == pytest.approx(0.0, abs=1e-6)
    assert not results["copies"]["goals"]["not_memorised"]
    assert results["new"]["memorisation"]["ratio_median"] == pytest.approx(1.0, abs=0.25)
    assert results["new"]["goals"]["modulation_closer_to_real_than_to_shuffled"]
    assert not results["noise"]["goals"]["modulation_closer_to_real_than_to_shuffled"]
    assert (
        results["noise"]["frechet_frames"]["samples"]
        > 10 * results["new"]["frechet_frames"]["samples"]
    )
    shuffled = results["new"]["frechet_frames"]["shuffled"]
    assert shuffled == pytest.approx(results["new"]["frechet_frames"]["heldout"], rel=1e-6)
    table = format_spectrogram_table(results["new"])
    assert "memorisation ratio" in table and table.count("\n| ") == 4


def test_validation_control_separates_a_shifted_held_out_passage():
    """Held-out clips unlike the training data (a 6 dB brighter passage) make new speech from
    the training distribution look memorised against them; validation crops (the training
    distribution, never trained on) do not, and copies stay copies against both."""
    clips = [syllables(1, frames=120, seed=s)[0] for s in range(15)]
    train, valid, fresh = clips[:6], clips[6:9], clips[9:12]
    tilt = torch.linspace(0.0, 6.0, 8)[:, None]  # the passage's spectral tilt, dB per band
    heldout = [c + tilt for c in clips[12:]]
    norm = SpectrogramNormalizer().fit(train)
    new, _ = evaluation_crops(fresh, 64, 12, seed=5)
    copies, _ = evaluation_crops(train, 64, 12, seed=5)
    opts = {"num_heldout": 12, "valid_clips": valid, "valid_ids": ["va", "vb", "vc"]}
    out = evaluate_spectrograms(new, heldout, train, norm, RATE, **opts)
    assert out["memorisation"]["ratio_median"] < 0.8
    assert not out["goals"]["not_memorised"]
    assert out["memorisation_valid"]["ratio_median"] == pytest.approx(1.0, abs=0.25)
    assert out["memorisation_heldout_vs_valid"]["ratio_median"] > 1.25
    # the passage's frames are far from train, the validation frames are not
    assert out["frechet_frames"]["heldout"] > 5 * out["frechet_frames"]["valid"]
    assert out["frechet_frames"]["samples_to_valid"] < out["frechet_frames"]["samples_to_heldout"]
    assert out["counts"]["valid"] == 12 and out["counts"]["valid_clips"] == 3
    assert {n.split("@")[0] for n in out["valid_crops"]} == {"va", "vb", "vc"}
    assert len(out["modulation_spectrum"]["valid"]) == len(out["modulation_spectrum"]["freqs_hz"])
    table = format_spectrogram_table(out)
    assert table.count("\n| ") == 5 and "validation real crops" in table
    assert "median validation nearest-train distance" in table

    copied = evaluate_spectrograms(copies, heldout, train, norm, RATE, **opts)
    assert copied["memorisation_valid"]["ratio_median"] == pytest.approx(0.0, abs=1e-6)
    assert not copied["goals"]["not_memorised_vs_valid"]
    # without validation clips, nothing of the valid set appears
    plain = evaluate_spectrograms(new, heldout, train, norm, RATE, num_heldout=12)
    assert "valid" not in plain["frechet_frames"] and "memorisation_valid" not in plain
    torch.testing.assert_close(
        torch.tensor(plain["memorisation"]["ratio_median"]),
        torch.tensor(out["memorisation"]["ratio_median"]),
    )
