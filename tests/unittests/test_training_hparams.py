"""load_hparams: the command-line checks every recipe's train.py goes through."""

import pytest

from audiodiff.training.hparams import check_overrides, hparams_defaults, load_hparams

YAML = """\
seed: 1
lr: 0.001
batch_size: 16
max_train_minutes: 8.0
data_folder: null
flag: false
mults: [1, 2]
name: run
ckpt_interval_minutes: 2.0
out: !ref results/<name>/<seed>
"""


@pytest.fixture
def hparams_file(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(YAML)
    return str(path)


def error_of(argv):
    with pytest.raises(SystemExit) as info:
        load_hparams(argv)
    message = str(info.value.code)
    assert message.startswith("error: ") and "\n" not in message, message
    return message


def test_overrides_of_every_type_reach_the_hparams(hparams_file):
    _, run_opts, overrides, hparams = load_hparams(
        [
            hparams_file,
            "--lr",
            "1e-4",
            "--batch_size=8",
            "--flag",
            "true",
            "--mults",
            "[4]",
            "--max_train_minutes",
            "3",
            "--data_folder",
            "/x",
            "--name",
            "7",
            "--device",
            "cpu",
        ]
    )
    assert overrides == {
        "lr": 1e-4,
        "batch_size": 8,
        "flag": True,
        "mults": [4],
        "max_train_minutes": 3,
        "data_folder": "/x",
        "name": 7,
    }
    assert hparams["lr"] == 1e-4 and hparams["out"] == "results/7/1"
    assert run_opts["device"] == "cpu"


def test_null_turns_a_key_off(hparams_file):
    assert (
        load_hparams([hparams_file, "--max_train_minutes", "null"])[3]["max_train_minutes"] is None
    )


def test_unknown_key_names_the_closest_keys(hparams_file):
    message = error_of([hparams_file, "--batchsize", "3"])
    assert "--batchsize" in message and "closest: --batch_size" in message
    message = error_of([hparams_file, "--no_such_key", "3"])
    assert "unknown option --no_such_key" in message and "train.yaml" in message


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("batch_size", "abc", "an integer"),
        ("batch_size", "2.5", "an integer"),
        ("lr", "fast", "a number"),
        ("flag", "yes", "true or false"),
        ("mults", "4", "a list"),
        ("name", "[1, 2]", "a single value"),
    ],
)
def test_wrong_type_says_what_is_expected(hparams_file, key, value, expected):
    message = error_of([hparams_file, f"--{key}", value])
    assert f"--{key} expects {expected}" in message and "got " in message


def test_run_option_defined_by_the_file_is_an_override_of_its_key(hparams_file):
    """SpeechBrain types --ckpt_interval_minutes as int; the file's float wins."""
    _, run_opts, overrides, hparams = load_hparams(
        [hparams_file, "--ckpt_interval_minutes", "0.05"]
    )
    assert overrides == {"ckpt_interval_minutes": 0.05}
    assert hparams["ckpt_interval_minutes"] == 0.05
    assert "ckpt_interval_minutes" not in run_opts.overridden_args


def test_step_limit_is_an_integer(hparams_file):
    assert (
        load_hparams([hparams_file, "--optimizer_step_limit", "7"])[1]["optimizer_step_limit"] == 7
    )
    assert "expects an integer" in error_of([hparams_file, "--optimizer_step_limit", "x"])


def test_missing_file_and_unbuildable_values(tmp_path, hparams_file):
    assert "not found" in error_of([str(tmp_path / "nope.yaml")])
    bad = tmp_path / "bad.yaml"
    bad.write_text("n: 2\nthing: !new:collections.OrderedDict [!ref <n>]\n")
    assert "could not be built" in error_of([str(bad)])


def test_check_overrides_against_defaults(hparams_file):
    defaults = hparams_defaults(hparams_file)
    check_overrides({"out": [1], "data_folder": 3}, defaults)  # computed / null defaults: any
    with pytest.raises(SystemExit):
        check_overrides({"seed": "x"}, defaults)


def test_a_repeated_key_takes_its_last_value(hparams_file):
    """Scripts append flags to a user's (a later --key wins, as in argparse)."""
    argv = [hparams_file, "--batch_size", "8", "--mults", "[1, 2, 4]", "--batch_size", "32"]
    _, _, overrides, hparams = load_hparams(argv)
    assert overrides == {"batch_size": 32, "mults": [1, 2, 4]}
    assert hparams["batch_size"] == 32
