"""Crops of whole-clip spectrograms: a new random crop at every draw, masked padding of short
clips, augmented variants, fixed validation crops, evaluation crops, and the split loader."""

import pytest
import torch

from audiodiff.audio import MelSpectrogram
from audiodiff.data import BUNDLED_LJSPEECH, DataFolderError, prepare_ljspeech
from audiodiff.data.crops import RandomCropDataset, evaluation_crops, split_clips


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: tiny tensors on a shared CPU run far faster without contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ramp_clip(frames, n_mels=3, start=0.0):
    """A clip whose frame j holds start + j in every band (so a crop reveals its offset)."""
    return (start + torch.arange(frames, dtype=torch.float32)).expand(n_mels, frames).clone()


def offset_of(image):
    return int(image[0, 0])


def test_each_draw_is_a_new_crop_of_the_clip():
    clip = ramp_clip(50)
    data = RandomCropDataset([clip], num_frames=8)
    torch.manual_seed(0)
    offsets = set()
    for _ in range(40):
        item = data[0]
        offset = offset_of(item["mel_db"])
        torch.testing.assert_close(item["mel_db"], clip[:, offset : offset + 8])
        assert item["lengths"] == 1.0
        offsets.add(offset)
    assert len(offsets) > 10 and min(offsets) >= 0 and max(offsets) <= 42


def test_short_clips_are_left_aligned_and_padded_with_the_floor():
    data = RandomCropDataset([ramp_clip(5)], num_frames=8, pad_value=-100.0)
    item = data[0]
    torch.testing.assert_close(item["mel_db"][:, :5], ramp_clip(5))
    assert bool((item["mel_db"][:, 5:] == -100.0).all())
    assert item["lengths"] == pytest.approx(5 / 8)
    assert data[0]["mel_db"].dtype == torch.float32


def test_variants_are_drawn():
    clip, copy = ramp_clip(20), ramp_clip(20, start=1000.0)
    data = RandomCropDataset([clip], num_frames=4, variants=[[copy]], crops_per_clip=3)
    assert len(data) == 3
    torch.manual_seed(1)
    starts = {offset_of(data[i % 3]["mel_db"]) >= 1000 for i in range(30)}
    assert starts == {True, False}


def test_fixed_crops_are_stable_and_seeded():
    clips = [ramp_clip(60), ramp_clip(30)]
    fixed = RandomCropDataset(clips, num_frames=10, crops_per_clip=4, random=False, seed=3)
    first = [offset_of(fixed[i]["mel_db"]) for i in range(len(fixed))]
    assert first == [offset_of(fixed[i]["mel_db"]) for i in range(len(fixed))]
    other = RandomCropDataset(clips, num_frames=10, crops_per_clip=4, random=False, seed=4)
    assert first != [offset_of(other[i]["mel_db"]) for i in range(len(other))]


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one clip"):
        RandomCropDataset([], 4)
    with pytest.raises(ValueError, match="variant lists"):
        RandomCropDataset([ramp_clip(9)], 4, variants=[])
    with pytest.raises(ValueError, match="crops_per_clip"):
        RandomCropDataset([ramp_clip(9)], 4, crops_per_clip=0)


def test_evaluation_crops_skip_short_clips_and_spread_over_clips():
    clips = [ramp_clip(20), ramp_clip(3), ramp_clip(12, start=500.0)]
    crops, names = evaluation_crops(clips, 10, 4, seed=0, ids=["a", "b", "c"])
    assert crops.shape == (4, 3, 10)
    assert [n.split("@")[0] for n in names] == ["a", "c", "a", "c"]
    for crop, name in zip(crops, names):
        clip = clips["abc".index(name[0])]
        start = int(name.split("@")[1])
        torch.testing.assert_close(crop, clip[:, start : start + 10])
    unnamed = evaluation_crops(clips, 10, 4, seed=0)[1]
    assert [n.split("@")[0] for n in unnamed] == ["0", "2", "0", "2"]
    with pytest.raises(ValueError, match="no clip"):
        evaluation_crops([ramp_clip(3)], 10, 2)


def test_split_clips_whole_and_fixed(tmp_path):
    prepare_ljspeech(BUNDLED_LJSPEECH, tmp_path, phonemes=False, held_out_last=2)
    mel = MelSpectrogram(22050, 1024, 256, n_mels=16)
    whole = split_clips(tmp_path, "test", mel, sample_rate=22050, progress=False)
    assert whole["ids"] == ["LJ001-0031", "LJ001-0032"]
    assert [c.shape[-1] for c in whole["clips"]] == whole["frames"].tolist()
    assert whole["clips"][0].dtype == torch.float16 and whole["augmented"] is None
    assert (tmp_path / "features_test.pt").is_file()
    fixed = split_clips(tmp_path, "test", mel, sample_rate=22050, num_frames=32, progress=False)
    assert [tuple(c.shape) for c in fixed["clips"]] == [(16, 32), (16, 32)]
    with pytest.raises(DataFolderError, match="no train manifest"):
        split_clips(tmp_path / "empty", "train", mel, sample_rate=22050)
