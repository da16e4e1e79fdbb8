"""Renders one shard of a synthetic corpus: eSpeak NG -> resample -> pad -> file (+ alignment).

Runs in a fresh process per shard (started by ``shards.run_shards``), reading the shard as JSON
on stdin and writing one JSON result on stdout. It imports only numpy, soundfile and the synth
modules (never torch), so a process starts fast and eSpeak NG's state is the same at the start
of every shard: the same shard always gives byte-identical files.

An item of a shard (all times in seconds)::

    {"id": "p225_001", "text": "...", "voice": {"accent": "en-us", "variant": "f2", ...},
     "out": "/abs/file.flac", "sample_rate": 48000, "peak": 0.9, "lead": 0.1, "tail": 0.1,
     "length": null, "alignment": "/abs/file.json" or null, "seed": 1234}

``length`` (samples) pads or crops to a fixed size (Speech Commands' 1 s clips): the leading
silence shrinks first, then the end is cut with a 10 ms fade. The alignment file holds the
phonemes (IPA, from eSpeak NG's phoneme events) and words with start/end times in the written
file; a phoneme ends where the next one (or a pause) starts. ``seed`` seeds eSpeak NG's noise
(breathy voices) for this utterance.
"""

import io
import json
import os
import sys

import numpy as np
import soundfile

from audiodiff.data.synth.espeak import SAMPLE_RATE, get_engine
from audiodiff.data.synth.resample import resample
from audiodiff.data.synth.voices import Voice

_FADE = 0.01


def _place(speech, item, sample_rate):
    """Pads ``speech`` with silence (and fits it to ``length``); returns (wav, lead in samples)."""
    lead = int(round(item.get("lead", 0.0) * sample_rate))
    tail = int(round(item.get("tail", 0.0) * sample_rate))
    length = item.get("length")
    if length is not None:
        if len(speech) > length:
            fade = min(len(speech), int(_FADE * sample_rate))
            speech = speech[:length].copy()
            speech[length - fade :] *= np.linspace(1.0, 0.0, fade)
        lead = min(lead, length - len(speech))
        tail = length - len(speech) - lead
    return np.concatenate([np.zeros(lead), speech, np.zeros(tail)]), lead


def _segments(starts, end, offset, limit):
    """(label, start) pairs -> [{label, start, end}], shifted by ``offset``, cut at ``limit``."""
    out = []
    for i, (label, start) in enumerate(starts):
        stop = starts[i + 1][1] if i + 1 < len(starts) else end
        start, stop = start + offset, min(stop + offset, limit)
        if label and start < limit and stop > start:
            out.append((label, round(start, 4), round(stop, 4)))
    return out


def _alignment(item, synthesis, lead_s, duration):
    speech_end = synthesis.duration
    phonemes = _segments(synthesis.phonemes, speech_end, lead_s, duration)
    text = item["text"]
    words = [(text[p - 1 : p - 1 + n], t) for p, n, t in synthesis.words]
    words = _segments(words, speech_end, lead_s, duration)
    return {
        "utt_id": item.get("id"),
        "text": text,
        "sample_rate": item["sample_rate"],
        "duration": round(duration, 4),
        "voice": item["voice"],
        "phonemes": [{"phoneme": p, "start": s, "end": e} for p, s, e in phonemes],
        "words": [{"word": w, "start": s, "end": e} for w, s, e in words],
    }


def render_item(item):
    """Synthesises one item and writes its audio file (and alignment file when asked).

    Arguments
    ---------
    item : dict
        See the module docstring.

    Returns
    -------
    dict
        ``{"out", "frames", "sample_rate", "duration"}``.
    """
    synthesis = get_engine().synthesize(item["text"], Voice(**item["voice"]), item.get("seed", 0))
    if len(synthesis.samples) == 0:
        raise RuntimeError(f"eSpeak NG produced no audio for {item['text'][:40]!r}")
    sample_rate = int(item["sample_rate"])
    speech = resample(synthesis.samples / 32768.0, SAMPLE_RATE, sample_rate)
    peak = np.abs(speech).max()
    if peak > 0:
        speech *= item.get("peak", 0.9) / peak
    wav, lead = _place(speech, item, sample_rate)
    pcm = np.clip(np.round(wav * 32767.0), -32768, 32767).astype(np.int16)
    os.makedirs(os.path.dirname(item["out"]), exist_ok=True)
    audio_format = os.path.splitext(item["out"])[1].lstrip(".").upper()
    encoded = io.BytesIO()  # soundfile fsyncs real files on close: 10x slower than the synthesis
    soundfile.write(encoded, pcm, sample_rate, format=audio_format, subtype="PCM_16")
    with open(item["out"], "wb") as f:
        f.write(encoded.getvalue())
    duration = len(pcm) / sample_rate
    if item.get("alignment"):
        os.makedirs(os.path.dirname(item["alignment"]), exist_ok=True)
        with open(item["alignment"], "w", encoding="utf-8") as f:
            alignment = _alignment(item, synthesis, lead / sample_rate, duration)
            json.dump(alignment, f, ensure_ascii=False, indent=1)
            f.write("\n")
    return {
        "out": item["out"],
        "frames": len(pcm),
        "sample_rate": sample_rate,
        "duration": duration,
    }


def render_shard(shard):
    """Renders every item of a shard in order.

    Arguments
    ---------
    shard : dict
        ``{"items": [item, ...]}``.

    Returns
    -------
    dict
        ``{"results": [render_item(...) for each item], "torch_loaded": bool}``.
    """
    results = [render_item(item) for item in shard["items"]]
    return {"results": results, "torch_loaded": "torch" in sys.modules}


def main():
    """Reads a shard as JSON on stdin, renders it, writes the result as JSON on stdout.

    Returns
    -------
    int
        Exit status: 0, or 1 after writing the error to stderr.
    """
    try:
        result = render_shard(json.load(sys.stdin))
    except Exception as err:  # reported to the parent, which raises ShardError with it
        sys.stderr.write(f"{type(err).__name__}: {err}\n")
        return 1
    json.dump(result, sys.stdout)
    return 0
