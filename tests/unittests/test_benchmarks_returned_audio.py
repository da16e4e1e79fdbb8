"""The CPU side of GPU runs: packing returned wavs as FLAC and scoring returned syntheses."""

import json
import os
import runpy
import tarfile

import numpy as np
import pytest
import soundfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAC = runpy.run_path(os.path.join(REPO, "benchmarks", "wavs_to_flac.py"))
SCORE_VOC = runpy.run_path(os.path.join(REPO, "benchmarks", "score_vocoder_outputs.py"))
SCORE_ASR = runpy.run_path(os.path.join(REPO, "benchmarks", "score_tts_asr.py"))


def write_wav(path, seed, rate=22050):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = (np.random.default_rng(seed).standard_normal(2000) * 3000).astype(np.int16)
    soundfile.write(path, data, rate, subtype="PCM_16")
    return data


def test_flac_round_trip_through_the_archive_is_lossless(tmp_path):
    wavs = tmp_path / "wavs"
    original = write_wav(str(wavs / "priorgrad_6" / "LJ002-0121.wav"), 0)
    assert FLAC["convert_folder"](str(wavs)) == 1
    assert os.listdir(wavs / "priorgrad_6") == ["LJ002-0121.flac"]
    run = tmp_path / "run"
    run.mkdir()
    with tarfile.open(run / "vocoded_priorgrad.tgz", "w:gz") as tar:
        tar.add(wavs / "priorgrad_6", arcname="priorgrad_6")
    systems = SCORE_VOC["unpack"](str(run))
    assert list(systems) == ["priorgrad_6"]
    path = os.path.join(systems["priorgrad_6"], "LJ002-0121.wav")
    back, rate = soundfile.read(path, dtype="int16")
    assert rate == 22050 and np.array_equal(back, original)


def test_tts_asr_helpers_find_sets_and_recordings(tmp_path):
    for name in ("held_out_g2", "held_out_g1"):
        folder = tmp_path / "eval_so762_phoneme" / name
        folder.mkdir(parents=True)
        (folder / "labels.json").write_text(json.dumps({"samples": {}}))
    sets = SCORE_ASR["find_sets"](str(tmp_path))
    assert list(sets) == ["held_out_g1", "held_out_g2"]
    write_wav(str(tmp_path / "so" / "WAVE" / "SPEAKER1099" / "010990020.WAV"), 1, 16000)
    path = SCORE_ASR["real_path"](str(tmp_path / "so"), "010990020")
    assert path.endswith("SPEAKER1099/010990020.WAV")
    with pytest.raises(FileNotFoundError, match="no recording of 011860001"):
        SCORE_ASR["real_path"](str(tmp_path / "so"), "011860001")
