"""The FSDD TTS evaluation's references: of another digit for the score (a reference of the
requested word could pass the content through the speaker path), of the same digit for the
content-leakage diagnostic (``--reference_digit same``)."""

import importlib.util
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_evaluate():
    path = os.path.join(REPO, "recipes", "FSDD", "tts", "evaluate.py")
    spec = importlib.util.spec_from_file_location("fsdd_tts_evaluate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeTTS:
    def __init__(self, route):
        self.route = route
        self.hparams = {"dataset": "fsdd"}

    def _item(self, **kwargs):
        return kwargs


def fsdd_entries():
    """Two speakers, every digit, 5 test takes each, ids as FSDD names them."""
    return {
        f"{d}_{s}_{k}": {"wav": f"/fsdd/{d}_{s}_{k}.wav", "speaker": s, "digit": d}
        for s in ("george", "jackson")
        for d in range(10)
        for k in range(5)
    }


@pytest.mark.parametrize("route", ["phoneme", "spectrogram"])
def test_references_never_say_the_digit(route):
    evaluate = load_evaluate()
    entries = fsdd_entries()
    requests = evaluate.fsdd_requests(FakeTTS(route), entries, per_cell=3)
    assert len(requests) == 2 * 10 * 3
    for _, info in requests:
        assert entries[info["reference"]]["digit"] != info["digit"]
        assert entries[info["reference"]]["speaker"] == info["speaker"]


def test_same_digit_references_for_the_leakage_diagnostic():
    evaluate = load_evaluate()
    entries = fsdd_entries()
    requests = evaluate.fsdd_requests(FakeTTS("phoneme"), entries, 3, reference_digit="same")
    assert all(entries[i["reference"]]["digit"] == i["digit"] for _, i in requests)
    distinct = {(i["speaker"], i["digit"], i["reference"]) for _, i in requests}
    assert len(distinct) == len(requests)  # per_cell distinct references per cell
