#!/usr/bin/env python3
"""Re-encode every wav under a folder as 16-bit FLAC beside it and remove the wav.

A GPU run returns at most 8 files of 16 MB; FLAC roughly halves vocoded speech, so more
systems' listening examples fit. ``benchmarks/score_vocoder_outputs.py`` decodes them back.

Usage: python benchmarks/wavs_to_flac.py FOLDER

Example:
    >>> import tempfile, numpy, soundfile
    >>> d = tempfile.mkdtemp()
    >>> soundfile.write(f"{d}/a.wav", numpy.zeros(100), 16000, subtype="PCM_16")
    >>> convert_folder(d)
    1
    >>> sorted(os.listdir(d))
    ['a.flac']
"""

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from audiodiff.audio import reencode_audio  # noqa: E402


def convert_folder(folder):
    """Convert all ``*.wav`` below ``folder``; returns how many were converted."""
    count = 0
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.wav"), recursive=True)):
        reencode_audio(path, ".flac")
        count += 1
    return count


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: python benchmarks/wavs_to_flac.py FOLDER")
    print(f"{convert_folder(sys.argv[1])} wavs re-encoded as FLAC")
