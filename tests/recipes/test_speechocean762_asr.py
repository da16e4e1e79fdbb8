"""Smoke runs of recipes/speechocean762/asr: --debug on the bundled mini copy (the files it
writes, held-out speakers kept out of training, a resume, Recognizer.from_hparams on the
result) and the one-line error for a wrong --data_folder."""

import json
import os
import subprocess
import sys

import pytest
import torch

from audiodiff.audio import read_audio
from audiodiff.data import BUNDLED_SPEECHOCEAN762, read_manifest
from audiodiff.inference import Recognizer, RecognizerInputError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "speechocean762", "asr")
TINY = ["--conv_channels", "16", "--hidden_dim", "8", "--num_layers", "1", "--noprogressbar"]
HELD_OUT_WAV = os.path.join(BUNDLED_SPEECHOCEAN762, "WAVE", "SPEAKER1099", "010990123.flac")


def run(args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "train.py", "hparams/ctc.yaml", *map(str, args)],
        cwd=RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A --debug --debug_persistently run on the bundled audio: its output folder."""
    out = tmp_path_factory.mktemp("asr")
    proc = run(["--debug", "--debug_persistently", "--output_folder", out, *TINY])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_debug_run_scores_test_and_held_out_speakers(experiment):
    result = json.loads((experiment / "cer.json").read_text())
    splits = result["splits"]
    assert sorted(splits) == ["held_out", "held_out_griffin_lim", "test"]
    # the mini copy: 3 training speakers (1 test utterance each), held-out 1099 and 2327 (3 each)
    assert (splits["test"]["n"], splits["test"]["speakers"]) == (3, 3)
    assert (splits["held_out"]["n"], splits["held_out"]["speakers"]) == (6, 2)
    assert splits["held_out"]["speakers_seen_in_training"] is False
    assert splits["held_out_griffin_lim"]["chars"] == splits["held_out"]["chars"] > 0
    for rates in splits.values():
        assert rates["cer"] >= 0 and rates["char_edits"] == round(rates["cer"] * rates["chars"])
    assert result["train_speakers"] == 3 and result["optimizer_steps"] == 2
    assert result["parameters"] == sum(
        p.numel() for p in Recognizer.from_hparams(experiment, device="cpu").model.parameters()
    )
    transcripts = json.loads((experiment / "transcripts.json").read_text())
    held = transcripts["held_out"]
    assert len(held) == 6 and all(u.startswith(("01099", "02327")) for u in held)
    assert held["010990123"]["ref"] == "TIME TO GO TO THE GAME"  # the corpus's test/text
    trained = read_manifest(experiment / "prepared" / "debug_train.json")
    assert trained and not {e["speaker"] for e in trained.values()} & {"1099", "2327"}
    log = (experiment / "train_log.txt").read_text()
    assert "epoch: 2" in log and "valid cer" in log and "scored: held_out" in log


def test_the_experiment_loads_as_a_recognizer(experiment):
    asr = Recognizer.from_hparams(experiment, device="cpu")
    assert asr.sample_rate == 16000 and not asr.training
    wav, rate = read_audio(HELD_OUT_WAV)
    (text,) = asr.transcribe([wav], rate)
    assert isinstance(text, str) and text == text.strip().upper()
    # another rate is resampled: the same audio at 8 kHz reads as its 16 kHz resampling
    low = read_audio(HELD_OUT_WAV, 8000)[0]
    assert asr.transcribe([low], 8000) == asr.transcribe([read_audio_8k_as_16k(low)], 16000)
    rates = asr.error_rates([wav, torch.zeros(1000)], ["TIME TO GO TO THE GAME", "ONE"], rate)
    assert rates["n"] == 2 and rates["hypotheses"][1] == "" and rates["chars"] == 22 + 3
    with pytest.raises(RecognizerInputError, match="NaN"):
        asr.transcribe([torch.full((1000,), float("nan"))], 16000)
    with pytest.raises(RecognizerInputError, match="1-D"):
        asr.transcribe([torch.zeros(2, 1000)], 16000)
    with pytest.raises(RecognizerInputError, match="sample_rate"):
        asr.transcribe([wav], 16000.0)


def read_audio_8k_as_16k(wav):
    import torchaudio

    return torchaudio.functional.resample(wav, 8000, 16000)


def test_rerun_resumes_from_the_checkpoint(experiment):
    proc = run(["--debug", "--debug_persistently", "--output_folder", experiment, *TINY])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Loading a checkpoint" in proc.stdout + proc.stderr
    log = (experiment / "train_log.txt").read_text()
    assert log.count("epoch: 1,") == 1  # the finished epochs are not trained again


def test_missing_checkpoint_or_folder_is_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no hyperparams.yaml"):
        Recognizer.from_hparams(tmp_path)


def test_wrong_data_folder_is_one_clear_line(tmp_path, monkeypatch):
    import runpy

    monkeypatch.chdir(RECIPE)
    main = runpy.run_path(os.path.join(RECIPE, "train.py"))["main"]
    argv = ["hparams/ctc.yaml", "--debug", "--output_folder", str(tmp_path / "exp")]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--data_folder", str(tmp_path / "nowhere")])
    message = str(info.value.code)
    assert message.startswith("error: speechocean762 data folder") and "\n" not in message
    assert "nowhere" in message and "--data_folder" in message


TTS_RECIPE = os.path.join(REPO, "recipes", "FSDD", "tts")
TTS_TINY = [
    *("--base_channels", "8", "--channel_mults", "[1, 2]", "--attention_levels", "[1]"),
    *("--num_heads", "2", "--speaker_dim", "8", "--speaker_hidden_dim", "16"),
    *("--context_dim", "16", "--sample_steps", "2", "--batch_size", "8", "--noprogressbar"),
    *("--text_dim", "16", "--text_layers", "1", "--duration_filter_dim", "16"),
]


def test_tts_evaluate_scores_intelligibility_with_asr(experiment, tmp_path, monkeypatch):
    """evaluate.py --held_out --asr on a tiny speechocean762 TTS: CER / WER of the generated
    utterances, of the real recordings of the same transcripts and of their Griffin-Lim round
    trip, in results.json, the summary table and asr_transcripts.json."""
    import runpy

    tts_exp = tmp_path / "tts"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "train.py", "hparams/phoneme.yaml", "--debug", "--debug_persistently"]
        + ["--dataset", "speechocean762", "--data_folder", BUNDLED_SPEECHOCEAN762]
        + ["--output_folder", str(tts_exp), *TTS_TINY],
        cwd=TTS_RECIPE,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    monkeypatch.chdir(TTS_RECIPE)
    main = runpy.run_path(os.path.join(TTS_RECIPE, "evaluate.py"))["main"]
    out = tmp_path / "eval"
    common = [str(tts_exp), "--held_out", "--scales", "1", "--steps", "2", "--max_held_out", "4"]
    results = main([*common, "--asr", str(experiment), "--out", str(out), "--device", "cpu"])
    held = read_manifest(tts_exp / "prepared" / "held_out.json")
    transcripts = json.loads((out / "asr_transcripts.json").read_text())
    assert len(transcripts["reference"]) == 4  # 2 held-out speakers x 2 requests
    assert set(transcripts["reference"]) <= {e["text"] for e in held.values()}
    chars = sum(len(t) for t in transcripts["reference"])
    intelligibility = results["intelligibility"]
    generated = results["held_out"]["1.0"]["intelligibility"]
    assert intelligibility["resynthesis"]["vocoder"] == "GriffinLimVocoder"
    for scores in (intelligibility["real"], intelligibility["resynthesis"], generated):
        assert scores["n"] == 4 and scores["chars"] == chars and scores["cer"] >= 0
    assert sorted(transcripts) == ["generated_g1", "real", "reference", "resynthesis"]
    assert transcripts["real"] == Recognizer.from_hparams(experiment, "cpu").transcribe_files(
        [held[u]["wav"] for u in sorted(held)[:2] + sorted(held)[3:5]]
    )
    summary = (out / "summary.txt").read_text()
    assert "| real recordings |" in summary and "| generated, guidance 1.0 |" in summary
    assert json.loads((out / "results.json").read_text())["intelligibility"]["real"]["n"] == 4
    plain = main([*common, "--out", str(tmp_path / "plain"), "--device", "cpu"])  # no --asr
    assert "intelligibility" not in plain and "intelligibility" not in plain["held_out"]["1.0"]
