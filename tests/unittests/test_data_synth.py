import hashlib
import json
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from audiodiff.data.synth import (
    DEFAULT_ACCENTS,
    DEFAULT_VARIANTS,
    SAMPLE_RATE,
    ShardError,
    SynthUnavailableError,
    UnknownVoiceError,
    Voice,
    check_voice,
    espeak_paths,
    list_accents,
    list_variants,
    load_sentences,
    resample,
    run_shards,
    synthesize,
    text_to_phonemes,
    voice_grid,
)
from audiodiff.data.synth.phonemize import resolve_phonemes
from audiodiff.data.synth.voices import voice_gender


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_voice_data_lists():
    accents, variants = list_accents(), list_variants()
    assert {"en", "en-US", "en-029", "en-GB-x-rp"} <= set(accents)
    assert {"f1", "m3", "Annie"} <= set(variants)
    for accent in DEFAULT_ACCENTS:
        check_voice(Voice(accent))
    for variant in DEFAULT_VARIANTS:
        assert voice_gender(Voice("en", variant)) in ("male", "female"), variant


@pytest.mark.parametrize(
    "voice, kind",
    [(Voice("en-us", "nosuch"), "variant"), (Voice("en-xx", "f1"), "accent"), (Voice("F1"), "")],
)
def test_unknown_voice_names_are_refused(voice, kind):
    with pytest.raises(UnknownVoiceError) as err:
        check_voice(voice)
    message = str(err.value)
    assert f"unknown eSpeak NG {kind}" in message and "valid ones include" in message
    # the library itself would accept an unknown variant silently: synthesis checks first
    with pytest.raises(UnknownVoiceError):
        synthesize("one", voice)
    with pytest.raises(UnknownVoiceError):
        voice_grid(2, variants=("m1", voice.variant or "x"), accents=(voice.accent,))


@pytest.mark.parametrize("field, value", [("pitch", 101), ("rate", 79), ("pitch_range", -1)])
def test_voice_numbers_out_of_range(field, value):
    with pytest.raises(ValueError, match=field):
        check_voice(Voice("en", "m1", **{field: value}))


def test_voice_grid_is_distinct_and_seeded():
    voices = voice_grid(40, seed=3)
    assert len(set(voices)) == 40
    assert voice_grid(40, seed=3) == voices and voice_grid(40, seed=4) != voices
    assert len({v.variant for v in voices}) == len(DEFAULT_VARIANTS)  # all variants used
    assert len({v.accent for v in voices}) == len(DEFAULT_ACCENTS)
    with pytest.raises(ValueError, match="distinct"):
        voice_grid(3, accents=("en",), variants=("m1",), pitches=(50,), rates=(150, 160))


def test_synthesize_gives_audio_and_phoneme_times():
    out = synthesize("seven", Voice("en-us", "f2"))
    assert out.samples.dtype == np.int16 and 0.25 < out.duration < 1.2
    assert np.abs(out.samples).max() > 1000  # not silence
    names = [p for p, _ in out.phonemes if p]
    assert "s" in names and "v" in names and "n" in names
    starts = [t for _, t in out.phonemes]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= out.duration + 0.01
    assert out.words and out.words[0][:2] == (1, 5)  # "seven": position 1, 5 characters
    # rate changes the duration, pitch changes the waveform
    slow = synthesize("seven", Voice("en-us", "f2", rate=100))
    assert slow.duration > 1.3 * out.duration


def test_text_to_phonemes_ipa_and_accents():
    ipa = text_to_phonemes("Hello, world.")
    assert ipa.split() == ["həlˈoʊ", "wˈɜːld"]
    assert text_to_phonemes("dance", "en-us") != text_to_phonemes("dance", "en-gb-x-rp")
    assert text_to_phonemes("", "en") == ""


@pytest.mark.parametrize("new_rate", [8000, 16000, 44100, 48000])
def test_resample_matches_torchaudio(new_rate):
    wav = np.random.default_rng(0).standard_normal(5001)
    ours = torch.from_numpy(resample(wav, SAMPLE_RATE, new_rate))
    ref = torchaudio.functional.resample(torch.from_numpy(wav), SAMPLE_RATE, new_rate)
    torch.testing.assert_close(ours, ref, atol=1e-9, rtol=0)


def test_sentences_bundle():
    sentences = load_sentences()
    assert 250 <= len(sentences) == len(set(sentences))
    assert all(s[0].isupper() and s[-1] in ".?!" for s in sentences)


def test_missing_espeakng_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import fails
    with pytest.raises(SynthUnavailableError, match=r"pip install audiodiff\[synth\]"):
        espeak_paths()
    assert resolve_phonemes("auto") is False
    with pytest.raises(ImportError, match=r"audiodiff\[synth\]"):
        resolve_phonemes(True)


def test_core_import_does_not_need_espeakng():
    code = (
        "import sys; sys.modules['espeakng_loader'] = None\n"
        "import audiodiff.data, audiodiff.data.synth\n"
        "from audiodiff.data import prepare_ljspeech, prepare_sc09, prepare_vctk\n"
        "print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# a plain, a breathy (eSpeak NG's noise generator) and a Klatt (C rand) voice
_VOICES = [Voice("en-gb-x-rp", "m3", pitch=40), Voice("en-us", "f2"), Voice("en", "klatt")]


def _items(folder, sample_rate=16000, **extra):
    words = ["one", "two", "three seven nine"]
    return [
        {
            "id": f"u{i}",
            "text": word,
            "voice": _VOICES[i].to_dict(),
            "seed": 7 + i,
            "out": str(folder / f"u{i}.wav"),
            "sample_rate": sample_rate,
            "lead": 0.1,
            "tail": 0.05,
            "alignment": str(folder / f"u{i}.json"),
            **extra,
        }
        for i, word in enumerate(words)
    ]


def test_shards_in_fresh_processes_are_byte_identical(tmp_path):
    hashes = []
    for run in ("a", "b"):
        time.sleep(1.0 if run == "b" else 0.0)  # another second: eSpeak NG seeds from the clock
        (tmp_path / run).mkdir()
        result = run_shards([{"name": run, "items": _items(tmp_path / run)}], workers=1)
        assert result[0]["torch_loaded"] is False  # the worker stays torch-free
        hashes.append(
            [_sha(tmp_path / run / f"u{i}.{ext}") for i in range(3) for ext in ("wav", "json")]
        )
    assert hashes[0] == hashes[1]


def test_worker_fixed_length_and_alignment(tmp_path):
    items = _items(tmp_path, length=16000)
    items[2]["lead"] = 0.5  # too long for 1 s with this lead: the lead shrinks, then the end is cut
    results = run_shards([{"name": "s", "items": items}], workers=2)[0]["results"]
    for item, result in zip(items, results):
        data, rate = soundfile.read(item["out"], dtype="int16")
        assert rate == 16000 and data.shape == (16000,) and result["frames"] == 16000
        assert soundfile.info(item["out"]).subtype == "PCM_16"
        alignment = json.load(open(item["alignment"], encoding="utf-8"))
        assert alignment["utt_id"] == item["id"] and alignment["text"] == item["text"]
        phonemes = alignment["phonemes"]
        assert phonemes and all(0 <= p["start"] < p["end"] <= 1.0 for p in phonemes)
        assert all(a["end"] <= b["start"] + 1e-9 for a, b in zip(phonemes, phonemes[1:]))
    first = json.load(open(items[0]["alignment"], encoding="utf-8"))
    assert abs(first["phonemes"][0]["start"] - 0.1) < 0.05  # shifted by the leading silence
    assert [w["word"] for w in first["words"]] == ["one"]
    data = soundfile.read(items[0]["out"])[0]
    assert np.abs(data[:1500]).max() < 1e-3  # the 0.1 s lead is silent
    assert abs(np.abs(data).max() - 0.9) < 0.01  # peak-normalised (default peak 0.9)


def test_worker_errors_surface_as_shard_error(tmp_path):
    items = _items(tmp_path)
    items[1]["voice"]["variant"] = "nosuch"
    with pytest.raises(ShardError, match="UnknownVoiceError.*nosuch"):
        run_shards([{"name": "bad", "items": items}])
    with pytest.raises(ValueError):
        run_shards([], workers=0)
