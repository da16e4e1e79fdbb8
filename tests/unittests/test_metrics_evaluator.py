"""Tests for audiodiff.metrics.evaluator (SampleEvaluator) and DiffusionBrain's sample metrics.

A stub classifier folder in the classifier recipe's format (hyperparams.yaml, labels.json,
save/CKPT+*, prepared manifests) is built from a few bundled FSDD files with a tiny,
randomly initialised SpectrogramClassifier: the checks are about the evaluation path (same
features as the training data, labels from file names, reference cache), not about accuracy.
"""

import json
import math
import os
import random
import shutil

import pytest
import torch

from audiodiff.audio import MelSpectrogram, SpectrogramNormalizer
from audiodiff.data import compute_features, write_manifest
from audiodiff.metrics import EvaluationError, SampleEvaluator
from audiodiff.metrics.evaluator import REFERENCE_FILE, format_table
from audiodiff.metrics.generative import label_accuracy
from audiodiff.nets import SpectrogramClassifier

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FSDD = os.path.join(REPO, "bundled_data", "fsdd", "recordings")
SPEAKERS = ["george", "jackson"]
NUM_FRAMES = 32

HPARAMS = """\
seed: 3
__set_seed: !apply:speechbrain.utils.seed_everything [!ref <seed>]
sample_rate: 16000
num_frames: {num_frames}
prepare_folder: {prepared}
mel: !new:audiodiff.audio.MelSpectrogram
    sample_rate: 16000
normalizer: !new:audiodiff.audio.SpectrogramNormalizer
model: !new:audiodiff.nets.SpectrogramClassifier
    num_speakers: 2
    channels: [4, 8]
    embedding_dim: 16
modules:
    model: !ref <model>
checkpointer: !new:speechbrain.utils.checkpoints.Checkpointer
    checkpoints_dir: {exp}/save
"""


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fsdd_entries(reps):
    """Manifest entries for every digit of SPEAKERS at the given repetitions."""
    return {
        f"{d}_{s}_{r}": {"wav": os.path.join(FSDD, f"{d}_{s}_{r}.wav"), "digit": d, "speaker": s}
        for s in SPEAKERS
        for d in range(10)
        for r in reps
    }


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    """A classifier experiment folder in the recipe's format, with a random tiny model."""
    exp = tmp_path_factory.mktemp("classifier")
    prepared = exp / "prepared"
    write_manifest(prepared / "train.json", fsdd_entries([10]))
    write_manifest(prepared / "test.json", fsdd_entries([0]))
    (exp / "hyperparams.yaml").write_text(
        HPARAMS.format(num_frames=NUM_FRAMES, prepared=prepared, exp=exp)
    )
    (exp / "labels.json").write_text(json.dumps({"digit": list("0123456789"), "speaker": SPEAKERS}))
    torch.manual_seed(0)
    model = SpectrogramClassifier(num_speakers=2, channels=(4, 8), embedding_dim=16)
    feats = compute_features(
        prepared / "train.json", MelSpectrogram(), num_frames=NUM_FRAMES, progress=False
    )
    norm = SpectrogramNormalizer().fit(feats["mel_db"])
    from speechbrain.utils.checkpoints import Checkpointer

    ckpt = Checkpointer(exp / "save", recoverables={"model": model, "normalizer": norm})
    ckpt.save_checkpoint(meta={"acc": 0.5})
    return exp


def write_samples(folder, entries, speaker_names=SPEAKERS, name=None):
    """Copy FSDD files into folder/wav named like generated samples (+ labels.json)."""
    os.makedirs(folder / "wav", exist_ok=True)
    for i, entry in enumerate(entries.values()):
        speaker = entry["speaker"]
        spk = (speaker_names if speaker in speaker_names else SPEAKERS).index(speaker)
        stem = name(i) if name else f"digit{entry['digit']}_spk{spk}_{i:03d}"
        shutil.copy(entry["wav"], folder / "wav" / f"{stem}.wav")
    labels = {"samples": {}, "label_names": {"speaker": speaker_names}}
    (folder / "labels.json").write_text(json.dumps(labels))
    return folder


def test_bad_folders_give_clear_errors(tmp_path, classifier_folder):
    with pytest.raises(EvaluationError, match="not found.*train.py"):
        SampleEvaluator.from_experiment(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvaluationError, match="no hyperparams.yaml"):
        SampleEvaluator.from_experiment(empty)
    shutil.copy(classifier_folder / "hyperparams.yaml", empty / "hyperparams.yaml")
    with pytest.raises(EvaluationError, match="no checkpoint"):
        SampleEvaluator.from_experiment(empty)
    evaluator = SampleEvaluator.from_experiment(classifier_folder, device="cpu")
    with pytest.raises(EvaluationError, match="no .wav files"):
        evaluator.evaluate_folder(empty)


def test_loading_keeps_the_random_state(classifier_folder):
    torch.manual_seed(123)
    random.seed(5)
    SampleEvaluator.from_experiment(classifier_folder, device="cpu")  # its YAML seeds 3
    after = (torch.rand(1), random.random())
    torch.manual_seed(123)
    random.seed(5)
    assert (torch.rand(1), random.random()) == after


def test_real_test_files_match_the_reference(tmp_path, classifier_folder):
    """The test split scored as wav files gives FID ~ 0 against its own cached features."""
    evaluator = SampleEvaluator.from_experiment(classifier_folder, device="cpu")
    samples = write_samples(tmp_path / "samples", fsdd_entries([0]))
    result = evaluator.evaluate_folder(samples)
    assert os.path.isfile(classifier_folder / REFERENCE_FILE)
    reference = evaluator.reference()["test"]
    assert result["num_samples"] == 20 and result["num_digit_scored"] == 20
    assert result["fid"] == pytest.approx(0.0, abs=1e-3)
    targets = torch.tensor([e["digit"] for e in fsdd_entries([0]).values()])
    expected_acc = label_accuracy(reference["digit_probs"].argmax(-1), targets)
    assert result["digit_acc"] == pytest.approx(expected_acc)
    assert set(result["digit_acc_per_digit"]) == {str(d) for d in range(10)}
    assert result["num_speaker_scored"] == 20 and 0.0 <= result["speaker_acc"] <= 1.0
    assert 1.0 <= result["is"] <= 10.0 and result["mis"] >= 1.0 and result["am"] >= 0.0
    assert result["ndb_bins"] == 20 and 0.0 <= result["ndb_k"] <= 1.0
    assert sum(result["predicted_digit_histogram"]) == 20
    assert "digit_acc" in format_table(result) and "fid" in format_table(result)
    # the second evaluator loads the cached reference, even without the prepared data
    moved = tmp_path / "moved"
    shutil.copytree(classifier_folder, moved)
    shutil.rmtree(moved / "prepared")
    again = SampleEvaluator.from_experiment(moved, device="cpu").evaluate_folder(samples)
    assert again["fid"] == pytest.approx(result["fid"], abs=1e-6)


def test_unconditional_samples_get_distribution_metrics_only(tmp_path, classifier_folder):
    evaluator = SampleEvaluator.from_experiment(classifier_folder, device="cpu")
    entries = dict(list(fsdd_entries([1]).items())[:6])
    samples = write_samples(tmp_path / "u", entries, name=lambda i: f"uncond_{i:03d}")
    result = evaluator.evaluate_folder(samples)
    assert result["num_samples"] == 6
    assert "digit_acc" not in result and "speaker_acc" not in result
    assert all(math.isfinite(result[k]) for k in ("is", "mis", "am", "fid", "ndb_k"))


def test_speakers_are_matched_by_name(tmp_path, classifier_folder):
    evaluator = SampleEvaluator.from_experiment(classifier_folder, device="cpu")
    entries = fsdd_entries([2])
    same = evaluator.evaluate_folder(write_samples(tmp_path / "a", entries))
    # the generator's speaker table in the other order: same speakers, other indices
    swapped = evaluator.evaluate_folder(write_samples(tmp_path / "b", entries, SPEAKERS[::-1]))
    assert swapped["speaker_acc"] == pytest.approx(same["speaker_acc"])
    assert swapped["num_speaker_unknown"] == 0
    strangers = write_samples(tmp_path / "c", entries, ["ann", "bob"])
    result = evaluator.evaluate_folder(strangers)
    assert result["num_speaker_unknown"] == 20 and "speaker_acc" not in result


def test_evaluate_outputs_on_known_predictions():
    """Perfect and always-wrong classifier outputs give accuracy 1 and 0, IS = 10."""
    model = SpectrogramClassifier(num_speakers=2, channels=(4,), embedding_dim=4)
    eye = torch.eye(10, dtype=torch.float64)
    reference = {
        split: {"digit_probs": eye.repeat(3, 1), "embedding": torch.randn(30, 4)}
        for split in ("train", "test")
    }
    evaluator = SampleEvaluator(
        model,
        SpectrogramNormalizer(-100.0, 0.0),
        MelSpectrogram(),
        num_frames=8,
        sample_rate=16000,
        speakers=SPEAKERS,
        reference=reference,
    )
    labels = [{"digit": d, "speaker": d % 2} for d in range(10)]
    outputs = {
        "digit_probs": eye,
        "speaker_probs": torch.eye(2, dtype=torch.float64).repeat(5, 1),
        "embedding": torch.randn(10, 4),
    }
    right = evaluator.evaluate_outputs(outputs, labels, num_bins=5)
    assert right["digit_acc"] == 1.0 and right["speaker_acc"] == 1.0
    assert right["is"] == pytest.approx(10.0) and right["am"] == pytest.approx(0.0, abs=1e-9)
    wrong = {**outputs, "digit_probs": eye.roll(1, dims=1)}
    out = evaluator.evaluate_outputs(wrong, labels, num_bins=5)
    assert out["digit_acc"] == 0.0 and out["is"] == pytest.approx(10.0)
    assert out["digit_acc_per_digit"] == {str(d): 0.0 for d in range(10)}


def test_diffusion_brain_logs_sample_metrics(tmp_path, classifier_folder):
    from audiodiff.training import DiffusionBrain

    logged = []

    class Logger:
        def log_stats(self, stats_meta, **kwargs):
            logged.append((stats_meta, kwargs))

    hparams = {"evaluation_classifier": str(classifier_folder), "train_logger": Logger()}
    brain = DiffusionBrain(modules={}, hparams=hparams, run_opts={"device": "cpu"})
    samples = write_samples(tmp_path / "s", dict(list(fsdd_entries([3]).items())[:4]))
    metrics = brain.log_sample_metrics(str(samples), 7)
    assert json.loads((samples / "metrics.json").read_text())["num_samples"] == 4
    assert logged[0][0]["samples of epoch"] == 7
    assert logged[0][0]["digit_acc"] == metrics["digit_acc"] and logged[0][0]["fid"] >= 0.0
    # off in --debug, and off when the hparam is null
    debug = DiffusionBrain(modules={}, hparams=hparams, run_opts={"device": "cpu", "debug": True})
    assert debug.log_sample_metrics(str(samples), 1) is None
    off = DiffusionBrain(
        modules={}, hparams={"evaluation_classifier": None}, run_opts={"device": "cpu"}
    )
    assert off.log_sample_metrics(str(samples), 1) is None
    wrong = DiffusionBrain(
        modules={},
        hparams={"evaluation_classifier": str(tmp_path / "x")},
        run_opts={"device": "cpu"},
    )
    with pytest.raises(SystemExit, match="error: evaluation_classifier: .*train.py"):
        wrong.sample_evaluator()


def test_best_checkpoint_is_loaded_unless_one_is_named(tmp_path, classifier_folder):
    from speechbrain.utils.checkpoints import Checkpointer

    exp = tmp_path / "exp"
    shutil.copytree(classifier_folder, exp)
    (exp / REFERENCE_FILE).unlink(missing_ok=True)
    best = SampleEvaluator.from_experiment(exp, device="cpu").model.state_dict()
    worse = SpectrogramClassifier(num_speakers=2, channels=(4, 8), embedding_dim=16)
    norm = SpectrogramNormalizer(-90.0, 10.0)
    ckpt = Checkpointer(exp / "save", recoverables={"model": worse, "normalizer": norm})
    newer = ckpt.save_checkpoint(meta={"acc": 0.1}, name="newer_but_worse")
    loaded = SampleEvaluator.from_experiment(exp, device="cpu")
    torch.testing.assert_close(loaded.model.state_dict(), best)
    named = SampleEvaluator.from_experiment(exp, device="cpu", checkpoint=newer.path.name)
    torch.testing.assert_close(named.model.state_dict(), worse.state_dict())
    assert float(named.normalizer.low_db) == -90.0
    with pytest.raises(EvaluationError, match="no checkpoint nowhere"):
        SampleEvaluator.from_experiment(exp, device="cpu", checkpoint="nowhere")


def test_level_normalised_classifier_scores_any_level_alike(tmp_path, classifier_folder):
    """With ``level_range_db`` in its hparams, the evaluator gives the same features and
    predictions for real clips at their recorded level and peak-normalised to 0.9 (as the SC09
    recipe prepares them); without it, the features differ (FSDD levels differ by ~20 dB)."""
    from audiodiff.audio import read_audio, write_audio
    from audiodiff.data.waveforms import peak_normalize

    level = tmp_path / "level"
    shutil.copytree(classifier_folder, level)
    (level / REFERENCE_FILE).unlink(missing_ok=True)
    with open(level / "hyperparams.yaml", "a") as f:
        f.write("level_range_db: 80.0\n")
    paths = [e["wav"] for e in fsdd_entries([0]).values()][::4]
    recorded = [read_audio(p, sample_rate=16000)[0] for p in paths]
    peak = [peak_normalize(w[None], level=0.9)[0] for w in recorded]
    quiet = [0.25 * w for w in recorded]  # -12 dB
    assert min(float(p.abs().max() / r.abs().max()) for p, r in zip(peak, recorded)) > 1.1

    evaluator = SampleEvaluator.from_experiment(level, device="cpu")
    assert evaluator.level_range_db == 80.0
    a = evaluator.features_from_waveforms(recorded)
    pa = evaluator.predict(a)
    for other in (peak, quiet):
        b = evaluator.features_from_waveforms(other)
        torch.testing.assert_close(a, b, rtol=0, atol=1e-3)
        pb = evaluator.predict(b)
        torch.testing.assert_close(pa["speaker_probs"], pb["speaker_probs"], rtol=0, atol=1e-4)
        assert evaluator.speaker_shares(pa) == evaluator.speaker_shares(pb)
    # the real test split peak-normalised, scored against its reference at the recorded level
    entries = fsdd_entries([0])
    samples = tmp_path / "peak" / "wav"
    samples.mkdir(parents=True)
    for i, entry in enumerate(entries.values()):
        wav = peak_normalize(read_audio(entry["wav"], sample_rate=16000)[0][None], level=0.9)
        spk = SPEAKERS.index(entry["speaker"])
        write_audio(samples / f"digit{entry['digit']}_spk{spk}_{i:03d}.wav", wav[0], 16000)
    result = evaluator.evaluate_folder(samples.parent)
    assert result["fid"] == pytest.approx(0.0, abs=1e-3)
    assert "level_range_db" in torch.load(level / REFERENCE_FILE, weights_only=False)["key"]

    plain = SampleEvaluator.from_experiment(classifier_folder, device="cpu")
    assert plain.level_range_db is None
    for other in (peak, quiet):
        gap = plain.features_from_waveforms(recorded) - plain.features_from_waveforms(other)
        assert float(gap.abs().max()) > 0.1
