"""benchmarks/vocoder_tables.py: what the vocoder summaries read from a run's files."""

import os
import runpy

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLES = runpy.run_path(os.path.join(REPO, "benchmarks", "vocoder_tables.py"))
load_json, training_info = TABLES["load_json"], TABLES["training_info"]


def test_load_json_is_none_for_a_missing_or_broken_stage(tmp_path):
    (tmp_path / "good.json").write_text('{"a": 1}')
    (tmp_path / "bad.json").write_text("{")
    assert load_json(str(tmp_path / "good.json")) == {"a": 1}
    assert load_json(str(tmp_path / "bad.json")) is None
    assert load_json(str(tmp_path / "missing.json")) is None


def test_training_info_reads_logs_and_asked_hyperparameters(tmp_path):
    (tmp_path / "train_log.txt").write_text("epoch: 1, loss: 0.5\nepoch: 2, loss: 0.4  \n")
    (tmp_path / "log.txt").write_text(
        "vocoder (diffwave): 1,234 params\nNoise prior fitted on 8 clips: std 0.3\n"
        "Training-time budget of 5.0 min reached\n"
    )
    (tmp_path / "hyperparams.yaml").write_text("seed: 1\nbatch_size: 16 # per GPU\nlr: 0.1\n")
    base = training_info(str(tmp_path))
    assert base == {"last_epoch": "epoch: 2, loss: 0.4", "params": "1,234", "prior": "std 0.3"}
    budget = ("budget_reached", r"(Training-time budget of .* reached)")
    full = training_info(str(tmp_path), [budget], ("batch_size", "lr", "segment_frames"))
    assert list(full) == ["last_epoch", "params", "prior", "budget_reached", "batch_size", "lr"]
    assert full["budget_reached"] == "Training-time budget of 5.0 min reached"
    assert full["batch_size"] == "16" and full["lr"] == "0.1"
    assert training_info(str(tmp_path / "missing")) == {}
