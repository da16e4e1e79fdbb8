"""FeatureBank (files, subsets), random crop batches, and banks built from audio."""

import os

import pytest
import torch

from audiodiff.audio import MelSpectrogram, write_audio
from audiodiff.data import (
    FeatureBank,
    FeatureBankError,
    RandomCropBatches,
    build_feature_bank,
    write_manifest,
)
from audiodiff.data.feature_bank import pad_crops


def counting_bank(lengths, n_mels=3):
    """Frame t of the bank holds the value t in every band (crops are easy to check)."""
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    features = torch.arange(int(offsets[-1]), dtype=torch.float32)[:, None].repeat(1, n_mels)
    speakers = [f"s{i % 2}" for i in range(len(lengths))]
    return FeatureBank(
        features, offsets, {"speaker": speakers, "id": [str(i) for i in range(len(lengths))]}
    )


def test_save_and_load_quantise_to_the_step(tmp_path):
    torch.manual_seed(0)
    features = torch.cat([torch.full((5, 4), -100.0), -100 + 120 * torch.rand(300, 4)])
    features[10:20] = torch.tensor([-100.0, 20.0, -100.0, 20.0])  # frame-to-frame jumps wrap
    bank = FeatureBank(features, [0, 5, 305], {"speaker": ["a", "b"]}, {"mel": {"n_mels": 4}})
    for step in (1.0, 0.5):
        path = tmp_path / f"bank{step}.xz"
        bank.save(path, step_db=step)
        back = FeatureBank.load(path)
        assert float((back.features - features).abs().max()) <= step / 2 + 1e-4
        assert back.step_db == step and back.settings == bank.settings
        assert back.meta == bank.meta and torch.equal(back.offsets, bank.offsets)
    # smooth (speech-like) features take well under one byte per value
    t = torch.arange(20000.0)[:, None]
    smooth = -50 + 30 * torch.sin(t / 50 + torch.arange(8.0)) * torch.cos(t / 700)
    FeatureBank(smooth, [0, 20000], {"speaker": ["a"]}).save(tmp_path / "smooth.xz")
    assert os.path.getsize(tmp_path / "smooth.xz") < 0.5 * smooth.numel()


def test_load_errors_are_one_clear_error(tmp_path):
    with pytest.raises(FeatureBankError, match="not found"):
        FeatureBank.load(tmp_path / "missing.xz")
    (tmp_path / "bad.xz").write_bytes(b"garbage")
    with pytest.raises(FeatureBankError, match="unreadable"):
        FeatureBank.load(tmp_path / "bad.xz")


def test_select_concat_indices_and_checks():
    bank = counting_bank([3, 5, 2])
    sub = bank.select([2, 0])
    assert sub.lengths.tolist() == [2, 3] and sub.meta["id"] == ["2", "0"]
    torch.testing.assert_close(sub.utterance(0), bank.utterance(2))
    both = FeatureBank.concat([sub, bank])
    assert len(both) == 5 and both.meta["speaker"] == ["s0", "s0", "s0", "s1", "s0"]
    assert bank.indices(speaker="s1") == [1]
    with pytest.raises(ValueError, match="offsets"):
        FeatureBank(torch.zeros(4, 2), [0, 3], {"speaker": ["a"]})
    with pytest.raises(ValueError, match="meta"):
        FeatureBank(torch.zeros(3, 2), [0, 3], {"speaker": ["a", "b"]})


def test_pad_crops_take_contiguous_frames_and_mark_padding():
    bank = counting_bank([4, 10])
    out = pad_crops(bank, torch.tensor([1, 0]), torch.tensor([3, 1]), 5)
    assert out["feats"][:, :, 0].tolist() == [[7, 8, 9, 10, 11], [1, 2, 3, 3, 3]]
    torch.testing.assert_close(out["lens"], torch.tensor([1.0, 0.6]))


def test_random_crops_are_contiguous_pieces_of_their_utterance():
    bank = counting_bank([30, 8, 40, 25, 12])
    labels = torch.tensor([0, 1, 0, 1, 0])
    crops = RandomCropBatches(bank, [0, 1, 2, 3, 4], labels, 64, 10, 20, 3, seed=1)
    for batch in (crops[0], crops[1]):
        values = batch["feats"][:, :, 0]
        length = values.shape[1]
        assert 10 <= length <= 20
        for row, (lens, label) in enumerate(zip(batch["lens"], batch["label"])):
            valid = int(round(float(lens) * length))
            piece = values[row, :valid]
            utt = int(torch.searchsorted(bank.offsets, piece[0].long(), right=True)) - 1
            assert label == labels[utt]
            torch.testing.assert_close(piece, piece[0] + torch.arange(valid, dtype=torch.float32))
            assert piece[-1] < bank.offsets[utt + 1]  # inside its utterance
            assert (values[row, valid:] == piece[-1]).all()  # padding repeats the last frame
            assert valid == min(length, int(bank.lengths[utt]))


def test_crops_are_class_balanced_seeded_and_differ_between_calls():
    bank = counting_bank([20] * 9)  # speakers s0 (5 utterances) and s1 (4)
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0])
    labels[-1] = 2  # a third class with one utterance
    crops = RandomCropBatches(bank, list(range(9)), labels, 3000, 5, 5, 2, seed=0)
    counts = torch.bincount(crops[0]["label"], minlength=3).float() / 3000
    torch.testing.assert_close(counts, torch.full((3,), 1 / 3), atol=0.04, rtol=0)
    again = RandomCropBatches(bank, list(range(9)), labels, 3000, 5, 5, 2, seed=0)
    assert torch.equal(
        again[0]["feats"],
        RandomCropBatches(bank, list(range(9)), labels, 3000, 5, 5, 2, seed=0)[0]["feats"],
    )
    assert not torch.equal(again[0]["feats"], again[0]["feats"])  # a fresh draw every call
    uniform = RandomCropBatches(bank, list(range(9)), labels, 3000, 5, 5, 1, balance="utterance")
    share = float((uniform[0]["label"] == 2).float().mean())
    assert share == pytest.approx(1 / 9, abs=0.03)


def test_dither_stays_within_half_a_step():
    bank = counting_bank([50])
    crops = RandomCropBatches(bank, [0], torch.tensor([0]), 8, 50, 50, 1, dither_db=1.0)
    noise = crops[0]["feats"] - torch.arange(50.0)[None, :, None]
    assert float(noise.abs().max()) <= 0.5 and float(noise.std()) > 0.2
    with pytest.raises(ValueError):
        RandomCropBatches(bank, [0], torch.tensor([0]), 8, 60, 50, 1)


def test_batches_cover_every_utterance_once_with_labels():
    bank = counting_bank([5, 2, 9, 4])
    labels = torch.tensor([3, 1, 2, 0])
    batches = bank.batches([0, 1, 2, 3], batch_size=3, labels=labels)
    seen = torch.cat([b["index"] for b in batches]).tolist()
    assert sorted(seen) == [0, 1, 2, 3] and [len(b["index"]) for b in batches] == [3, 1]
    for batch in batches:
        torch.testing.assert_close(batch["label"], labels[batch["index"]])
        frames = batch["feats"].shape[1]
        torch.testing.assert_close(batch["lens"], bank.lengths[batch["index"]] / frames)


def test_build_from_audio_trims_crops_and_skips_bad_files(tmp_path):
    torch.manual_seed(0)
    sr = 16000
    noise = 0.3 * torch.randn(sr)
    write_audio(tmp_path / "a.wav", torch.cat([torch.zeros(sr), noise, torch.zeros(sr)]), sr)
    write_audio(tmp_path / "b.wav", 0.3 * torch.randn(3 * sr), 8000)  # 6 s at 8 kHz
    (tmp_path / "c.wav").write_bytes(b"broken")
    write_manifest(
        tmp_path / "m.json",
        {
            "a": {"wav": str(tmp_path / "a.wav"), "speaker": "x", "gender": "f"},
            "b": {"wav": str(tmp_path / "b.wav"), "speaker": "y"},
            "c": {"wav": str(tmp_path / "c.wav"), "speaker": "y"},
        },
    )
    mel = MelSpectrogram(n_mels=40)
    bank = build_feature_bank(
        {"valid": tmp_path / "m.json"},
        mel,
        sample_rate=sr,
        max_seconds=4.0,
        fields=("gender",),
        progress=False,
    )
    assert bank.meta["id"] == ["a", "b"] and bank.meta["gender"] == ["f", ""]
    assert bank.meta["split"] == ["valid", "valid"]
    seconds = bank.lengths.float() * 256 / sr
    assert float(seconds[0]) == pytest.approx(1.1, abs=0.1)  # the 3 s clip trimmed to its noise
    assert float(seconds[1]) == pytest.approx(4.0, abs=0.05)  # 6 s cut to the first 4 s
    untrimmed = build_feature_bank(
        {"v": tmp_path / "m.json"}, mel, sample_rate=sr, trim_db=None, progress=False
    )
    assert int(untrimmed.lengths[0]) == 3 * sr // 256 + 1
    assert bank.settings == {"mel": mel.settings(), "trim_db": 40.0}
    with pytest.raises(ValueError, match="sample_rate"):
        build_feature_bank({"v": tmp_path / "m.json"}, mel, sample_rate=8000)
