"""Smoke runs of recipes/AudioMNIST/classifier with SpeechBrain's --debug, then the tools that
load its output folder (tools/evaluate_samples.py, tools/sanity_table.py) on bundled files."""

import glob
import json
import os
import runpy
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(REPO, "recipes", "AudioMNIST", "classifier")
FSDD = os.path.join(REPO, "bundled_data", "fsdd", "recordings")
TINY = ["--channels", "[4, 8]", "--embedding_dim", "16", "--noprogressbar"]


def run(args, cwd=RECIPE):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: one thread avoids thread-sync overhead (10x slower on a shared CPU)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tool(name):
    """The ``main`` of a script (run in this process: no interpreter start-up per call)."""
    return runpy.run_path(os.path.join(REPO, "tools", name))["main"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A --debug --debug_persistently run of the recipe: its output folder."""
    out = tmp_path_factory.mktemp("classifier")
    proc = run(
        [
            "train.py",
            "hparams/train.yaml",
            "--debug",
            "--debug_persistently",
            "--output_folder",
            out,
            *TINY,
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_debug_run_writes_a_loadable_classifier(classifier):
    result = json.loads((classifier / "test_accuracy.json").read_text())
    assert result["test_items"] == 300
    assert 0.0 <= result["test_digit_acc"] <= 1.0 and 0.0 <= result["test_speaker_acc"] <= 1.0
    labels = json.loads((classifier / "labels.json").read_text())
    assert labels["speaker"] == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    assert glob.glob(str(classifier / "save" / "CKPT+*"))
    assert (classifier / "reference_features.pt").exists()
    log = (classifier / "train_log.txt").read_text()
    assert "epoch: 2" in log and "test digit_acc" in log


def test_level_normalised_run_scores_any_level_alike(classifier, tmp_path):
    """--level_range_db 80 (what gpu_sc09_run.sh trains): the normaliser is fitted on the
    level-normalised features, the evaluator applies them too, and a clip scores the same at
    its recorded level and peak-normalised. (Reuses the fixture's cached features.)"""
    import torch

    from audiodiff.audio import read_audio
    from audiodiff.data.waveforms import peak_normalize
    from audiodiff.metrics import SampleEvaluator

    out = tmp_path / "level"
    flags = ["--prepare_folder", classifier / "prepared", "--skip_prep", "true"]
    flags += ["--level_range_db", "80", "--debug_epochs", "1"]
    main = runpy.run_path(os.path.join(RECIPE, "train.py"))["main"]  # (no interpreter start-up)
    main(
        [os.path.join(RECIPE, "hparams", "train.yaml"), "--debug", "--debug_persistently"]
        + [str(a) for a in ["--output_folder", out, *TINY, *flags]]
    )
    evaluator = SampleEvaluator.from_experiment(out, device="cpu")
    assert evaluator.level_range_db == 80.0
    assert -80.0 < float(evaluator.normalizer.low_db) < float(evaluator.normalizer.high_db) <= 0.0
    wavs = [read_audio(os.path.join(FSDD, f"{d}_theo_0.wav"), sample_rate=16000)[0] for d in (4, 8)]
    peak = [peak_normalize(w[None], level=0.9)[0] for w in wavs]  # theo: +26 dB
    a = evaluator.predict(evaluator.features_from_waveforms(wavs))
    b = evaluator.predict(evaluator.features_from_waveforms(peak))
    torch.testing.assert_close(a["speaker_probs"], b["speaker_probs"], rtol=0, atol=1e-4)
    torch.testing.assert_close(a["digit_probs"], b["digit_probs"], rtol=0, atol=1e-4)


def test_evaluate_samples_tool(classifier, tmp_path, capsys):
    samples = tmp_path / "samples"
    (samples / "wav").mkdir(parents=True)
    for i, (digit, speaker) in enumerate([(3, "theo"), (7, "george"), (7, "lucas")]):
        spk = ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"].index(speaker)
        shutil.copy(
            os.path.join(FSDD, f"{digit}_{speaker}_1.wav"),
            samples / "wav" / f"digit{digit}_spk{spk}_{i:03d}.wav",
        )
    shutil.copy(os.path.join(FSDD, "5_theo_2.wav"), samples / "wav" / "uncond_000.wav")
    out_json = tmp_path / "scores.json"
    main = tool("evaluate_samples.py")
    capsys.readouterr()
    main(
        [
            str(samples),
            "--classifier",
            str(classifier),
            "--json_out",
            str(out_json),
            "--device",
            "cpu",
        ]
    )
    stdout = capsys.readouterr().out
    result = json.loads(stdout.splitlines()[0])
    assert result["num_samples"] == 4 and result["num_digit_scored"] == 3
    assert result["num_speaker_scored"] == 3 and 0.0 <= result["speaker_acc"] <= 1.0
    assert result["fid"] >= 0.0 and 1.0 <= result["is"] <= 10.0
    assert json.loads(out_json.read_text())["num_samples"] == 4
    assert "digit_acc" in stdout and "%" in stdout  # the readable table
    # a wrong classifier folder: one clear line that says how to train one
    with pytest.raises(SystemExit, match="^error: .*train.py"):
        main([str(samples), "--classifier", str(tmp_path / "nowhere")])


def test_sanity_table_tool(classifier, tmp_path, capsys):
    capsys.readouterr()
    tool("sanity_table.py")(
        [
            "--classifier",
            str(classifier),
            "--num",
            "5",
            "--work_dir",
            str(tmp_path),
            "--device",
            "cpu",
            "--bootstrap",
            "20",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| set |") and len([x for x in lines if x.startswith("| ")]) == 7
    summary = json.loads(next(x for x in lines if x.startswith("{")))
    results = summary["results"]
    assert summary["clips_per_set"] == 5 and len(results) == 5
    assert results["real test"]["fid"] == pytest.approx(0.0, abs=1e-3)
    assert results["real test"]["mrstft"] == pytest.approx(0.0, abs=1e-6)
    assert results["white noise"]["mrstft"] > results["test + noise 0 dB"]["mrstft"] > 0.0
    assert "pesq" not in results["real train"]  # no clean reference for train clips
    assert summary["bootstrap"]["white noise"]["fid"]["vs_test"][0] > 0.0  # clearly worse


def test_bad_data_options_are_one_clear_line(tmp_path):
    common = ["train.py", "hparams/train.yaml", "--debug", "--output_folder", tmp_path / "exp"]
    proc = run([*common, "--data_folder", tmp_path / "nowhere"])  # the real command line
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error:")
    main = runpy.run_path(os.path.join(RECIPE, "train.py"))["main"]
    cwd = os.getcwd()
    os.chdir(RECIPE)
    try:
        for flags, message in (
            (["--dataset", "audiomnist"], "--data_folder"),
            (["--dataset", "sc09"], "--data_folder"),
            (["--dataset", "timit"], "unknown --dataset"),
        ):
            with pytest.raises(SystemExit, match=f"^error: .*{message}"):
                main([str(a) for a in common[1:] + flags])
    finally:
        os.chdir(cwd)
