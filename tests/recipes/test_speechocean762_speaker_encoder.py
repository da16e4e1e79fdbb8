"""Smoke runs of recipes/speechocean762/speaker_encoder: --debug from the bundled audio, the
GPU script at toy size on a bank built by tools/build_speaker_features.py, and the one-line
errors for bad data options."""

import json
import os
import runpy
import subprocess
import sys
import tarfile

import pytest
import torch

from audiodiff.data import BUNDLED_SPEECHOCEAN762, FeatureBank
from audiodiff.inference import SpeakerEncoder

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "speechocean762", "speaker_encoder")
TINY = [
    "--channels",
    "[16, 16, 16, 16, 48]",
    "--attention_channels",
    "8",
    "--se_channels",
    "8",
    "--res2net_scale",
    "2",
    "--embedding_dim",
    "16",
    "--batch_size",
    "8",
    "--noprogressbar",
]
FEW = (
    "{speechocean762: {train: null, valid: null, test: null, held_out: null}, "
    "fsdd: {train: 4, valid: 2, test: 3}, ljspeech: {train: 4, valid: 2}}"
)
HELD_OUT_WAV = os.path.join(BUNDLED_SPEECHOCEAN762, "WAVE", "SPEAKER1099", "010990123.flac")


def run(args, cwd=RECIPE, env=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [*map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A --debug --debug_persistently run on the bundled audio: its output folder."""
    out = tmp_path_factory.mktemp("speaker_encoder")
    proc = run(
        [
            sys.executable,
            "train.py",
            "hparams/ecapa.yaml",
            "--debug",
            "--debug_persistently",
            "--output_folder",
            out,
            "--utterances_per_speaker",
            FEW,
            *TINY,
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_debug_run_scores_the_held_out_speakers(experiment):
    result = json.loads((experiment / "speaker_eval.json").read_text())
    held = result["splits"]["speechocean762_held_out"]
    assert held["num_speakers"] == 2 and held["num_utterances"] == 6  # 1099, 2327 of the mini
    assert 0.0 <= held["eer"] <= 1.0 and 0.0 <= held["identification_rate"] <= 1.0
    assert held["speakers_seen_in_training"] is False
    assert result["splits"]["fsdd_test"]["num_utterances"] == 18
    speakers = json.loads((experiment / "speakers.json").read_text())
    assert len(speakers) == result["train_speakers"] == 3 + 6 + 1
    assert not {"so762_1099", "so762_2327"} & set(speakers)  # never trained on
    assert (experiment / "speaker_scores.png").stat().st_size > 1000
    log = (experiment / "train_log.txt").read_text()
    assert "epoch: 2" in log and "valid acc" in log and "scored: speechocean762_held_out" in log


def test_the_experiment_loads_as_a_speaker_encoder(experiment, capsys):
    encoder = SpeakerEncoder.from_hparams(experiment, device="cpu")
    assert (encoder.sample_rate, encoder.embedding_dim) == (16000, 16)
    emb = encoder.embed_file(HELD_OUT_WAV)
    assert emb.shape == (16,) and torch.isfinite(emb).all()
    main = runpy.run_path(os.path.join(RECIPE, "evaluate.py"))["main"]
    report = main([str(experiment), "--device", "cpu", "--draws", "2"])
    assert report["num_speakers"] == 2 and report["num_utterances"] == 6
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["split"] == "held_out"


def test_gpu_script_end_to_end_on_a_toy_bank(tmp_path):
    bank = tmp_path / "features.xz"
    build = runpy.run_path(os.path.join(REPO, "tools", "build_speaker_features.py"))["main"]
    summary = build(
        [
            "--out",
            str(bank),
            "--fsdd_train",
            "3",
            "--fsdd_valid",
            "1",
            "--fsdd_test",
            "2",
            "--lj_train",
            "3",
            "--lj_valid",
            "1",
            "--work_dir",
            str(tmp_path / "work"),
        ]
    )
    assert summary["speakers"] == 3 + 2 + 6 + 1 and summary["bytes"] == bank.stat().st_size
    assert summary["groups"]["speechocean762/held_out"]["utterances"] == 6
    size = " ".join(TINY[:-1]) + " --batches_per_epoch 2 --number_of_epochs 2"
    env = {"SPEAKER_BANK": str(bank), "SPEAKER_SIZE": size, "SPEAKER_PRECISION": "fp32"}
    out, exp = tmp_path / "out", tmp_path / "exp"
    proc = run(["bash", "benchmarks/gpu_speaker_encoder.sh", out, "0.05", exp], cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = sorted(os.listdir(out))
    assert names == [
        "speaker_encoder.tgz",
        "speaker_encoder_summary.txt",
        "speaker_eval.json",
        "speaker_logs.tgz",
        "speaker_scores.png",
    ]
    text = (out / "speaker_encoder_summary.txt").read_text()
    assert "train rc=0" in text and "speechocean762_held_out: EER" in text
    with tarfile.open(out / "speaker_encoder.tgz") as tar:
        tar.extractall(tmp_path / "returned", filter="data")
    returned = SpeakerEncoder.from_hparams(tmp_path / "returned" / "speaker_encoder", device="cpu")
    original = SpeakerEncoder.from_hparams(exp, device="cpu")
    wav = returned.load(HELD_OUT_WAV)
    cosine = torch.dot(returned.embed_wav(wav, 16000), original.embed_wav(wav, 16000))
    assert float(cosine) > 0.999  # the fp16 copy embeds like the trained weights


def test_bad_data_options_are_one_clear_line(tmp_path):
    common = ["train.py", "hparams/ecapa.yaml", "--debug", "--output_folder", tmp_path / "exp"]
    proc = run([sys.executable, *common, "--data_folder", tmp_path / "nowhere"])
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: speechocean762 data folder")
    mel = {
        "sample_rate": 16000,
        "n_fft": 1024,
        "hop_length": 256,
        "win_length": 1024,
        "n_mels": 80,
        "f_min": 0.0,
        "f_max": 8000.0,
        "power": 1.0,
    }
    meta = {"speaker": ["so762_1099"], "split": ["train"], "corpus": ["speechocean762"]}
    FeatureBank(torch.zeros(5, 80), [0, 5], meta, {"mel": mel, "trim_db": 40.0}).save(
        tmp_path / "b80.xz"
    )
    FeatureBank(
        torch.zeros(5, 40), [0, 5], meta, {"mel": {**mel, "n_mels": 40}, "trim_db": 40.0}
    ).save(tmp_path / "leak.xz")
    main = runpy.run_path(os.path.join(RECIPE, "train.py"))["main"]
    cwd = os.getcwd()
    os.chdir(RECIPE)
    try:
        for flags, message in (
            (["--feature_bank", str(tmp_path / "missing.xz")], "not found"),
            (["--feature_bank", str(tmp_path / "b80.xz")], "other features"),
            (["--feature_bank", str(tmp_path / "leak.xz")], "held-out speakers"),
            (["--utterances_per_speaker", "{timit: {train: 1}}"], "unknown corpus"),
        ):
            with pytest.raises(SystemExit, match=f"^error: .*{message}"):
                main([str(a) for a in common[1:] + flags])
    finally:
        os.chdir(cwd)
