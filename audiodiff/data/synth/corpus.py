"""Shared pieces of the synthetic corpus builders: sentences, jitter, running, the summary.

Each builder (``corpus_digits``, ``corpus_sc09``, ``corpus_ljspeech``, ``corpus_vctk``) plans
shards of items (see ``worker``), runs them with ``build`` and writes the dataset's own list
and metadata files. Every random choice comes from ``rng_for(seed, *keys)``, seeded by the
item's identity (speaker, digit, repetition ...), never by the order of work, so the same seed
gives the same files whatever ``workers`` is.
"""

import dataclasses
import json
import os
import time

import numpy as np

from audiodiff.data.synth.shards import run_shards

SENTENCES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentences.txt")
"""258 English sentences written for audiodiff, public domain (CC0); see the file's header."""

INFO_FILE = "synth_corpus.json"
"""Provenance file at the root of every synthetic corpus (options, voices, eSpeak NG)."""


def load_sentences(path=SENTENCES_FILE):
    """Reads one sentence per line, skipping blank lines and ``#`` comments.

    Arguments
    ---------
    path : str or os.PathLike
        UTF-8 text file.

    Returns
    -------
    list of str
        The sentences, in file order.

    Example
    -------
    >>> sentences = load_sentences()
    >>> len(sentences) >= 250, sentences[0].endswith(".")
    (True, True)
    """
    with open(path, encoding="utf-8") as f:
        lines = (line.strip() for line in f)
        return [line for line in lines if line and not line.startswith("#")]


def rng_for(seed, *keys):
    """Returns a numpy generator seeded by ``seed`` and an item's identity (non-negative ints).

    Arguments
    ---------
    seed : int
        Corpus seed.
    *keys : int
        Identity of the item, e.g. speaker index, digit, repetition.

    Returns
    -------
    numpy.random.Generator
        Independent of every other item's generator.

    Example
    -------
    >>> float(rng_for(0, 3, 7).random()) == float(rng_for(0, 3, 7).random())
    True
    """
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


def jitter_voice(voice, rng, pitch=6, rate=0.08):
    """Returns the voice with its pitch and rate moved a little (one repetition's variation).

    Arguments
    ---------
    voice : Voice
        The speaker's voice.
    rng : numpy.random.Generator
        The item's generator.
    pitch : int
        Largest pitch change (0..100 scale), both ways.
    rate : float
        Largest relative rate change, both ways.

    Returns
    -------
    Voice
        A new voice, within eSpeak NG's limits.

    Example
    -------
    >>> from audiodiff.data.synth.voices import Voice
    >>> v = jitter_voice(Voice("en", "m1", pitch=50, rate=160), rng_for(0, 1))
    >>> 44 <= v.pitch <= 56, 147 <= v.rate <= 173
    (True, True)
    """
    new_pitch = int(np.clip(voice.pitch + rng.integers(-pitch, pitch + 1), 0, 100))
    new_rate = int(np.clip(round(voice.rate * rng.uniform(1 - rate, 1 + rate)), 80, 450))
    return dataclasses.replace(voice, pitch=new_pitch, rate=new_rate)


@dataclasses.dataclass
class CorpusSummary:
    """What a builder wrote.

    Attributes
    ----------
    out : str
        Corpus root.
    files : int
        Audio files written.
    seconds_audio : float
        Total audio duration.
    size_bytes : int
        Size of every file under ``out``.
    seconds : float
        Wall-clock time of the build.
    """

    out: str
    files: int
    seconds_audio: float
    size_bytes: int
    seconds: float

    def line(self):
        """One summary line: files, hours, size, time.

        Example
        -------
        >>> CorpusSummary("/c", 4000, 3600.0, 2**20 * 300, 31.25).line()
        'wrote 4000 files, 1.000 h of audio, 300.0 MB in 31.2 s to /c'
        """
        return (
            f"wrote {self.files} files, {self.seconds_audio / 3600:.3f} h of audio, "
            f"{self.size_bytes / 2**20:.1f} MB in {self.seconds:.1f} s to {self.out}"
        )


def check_out_folder(out, overwrite):
    """Creates ``out``; refuses a non-empty one unless ``overwrite`` (stale files would stay)."""
    if os.path.isdir(out) and os.listdir(out) and not overwrite:
        raise FileExistsError(
            f"output folder '{out}' is not empty: pass a new --out, or --overwrite to write "
            "over it (files of an earlier, larger corpus are not removed)"
        )
    os.makedirs(out, exist_ok=True)


def folder_size(folder):
    """Total size in bytes of the files under a folder."""
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )


def build(shards, out, workers=1, progress=True, desc="synthesising"):
    """Runs shards in fresh worker processes with a progress bar and returns their results.

    Arguments
    ---------
    shards : list of dict
        ``{"name", "items"}`` as in ``shards.run_shards``.
    out : str
        Corpus root (for the summary).
    workers : int
        Processes at once.
    progress : bool
        Show a tqdm progress bar (counting files).
    desc : str
        Progress bar label.

    Returns
    -------
    results : list of dict
        Per item, in shard order: ``{"out", "frames", "sample_rate", "duration"}``.
    summary : CorpusSummary
        Files, audio duration, size (filled in by ``finish``) and time.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    total = sum(len(shard["items"]) for shard in shards)
    with tqdm(total=total, desc=desc, unit="file", disable=not progress) as bar:
        done = run_shards(shards, workers, on_done=lambda shard, _: bar.update(len(shard["items"])))
    results = [item for shard in done for item in shard["results"]]
    summary = CorpusSummary(
        out=os.path.abspath(out),
        files=len(results),
        seconds_audio=sum(r["duration"] for r in results),
        size_bytes=0,
        seconds=time.perf_counter() - start,
    )
    return results, summary


def finish(summary, out, info, start):
    """Writes the provenance file and completes the summary (size, total time).

    Arguments
    ---------
    summary : CorpusSummary
        From ``build``.
    out : str
        Corpus root.
    info : dict
        Options and voices, written to ``INFO_FILE`` (sorted keys, no timestamps, so the same
        options give the same bytes).
    start : float
        ``time.perf_counter()`` at the start of the builder.

    Returns
    -------
    CorpusSummary
        The completed summary.
    """
    with open(os.path.join(out, INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    summary.size_bytes = folder_size(out)
    summary.seconds = time.perf_counter() - start
    return summary


def espeak_version_info():
    """Returns ``{"engine": "eSpeak NG", "license": "GPL-3.0", "package": ...}`` for provenance."""
    from importlib import metadata

    try:
        version = metadata.version("espeakng-loader")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"engine": "eSpeak NG", "license": "GPL-3.0", "package": f"espeakng-loader {version}"}
