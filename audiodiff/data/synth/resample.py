"""Band-limited resampling in numpy (Hann-windowed sinc, polyphase), for the synthesis workers.

The corpus workers run one fresh process per shard (see ``shards``); importing torch there
costs seconds per process and changes eSpeak NG's output (torch's start-up touches the C random
state that eSpeak NG's noise sources use), so they resample with this numpy version of
``torchaudio.functional.resample``'s default ``sinc_interp_hann`` filter instead.
"""

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_CHUNK = 1 << 16  # output samples per step: bounds the [samples, taps] gather in memory


@functools.lru_cache(maxsize=8)
def _filter_bank(up, down, zeros, rolloff):
    """Polyphase taps: ``bank[p, j]`` weighs input sample ``base_p + offsets[j]``.

    Output sample ``n = q * up + p`` sits at input time ``t = n * down / up``; its base input
    index is ``q * down + floor(p * down / up)`` and its fractional offset
    ``(p * down % up) / up``, so the taps depend on the phase ``p`` only.
    """
    cutoff = rolloff * min(1.0, up / down)  # fraction of the input Nyquist frequency kept
    width = math.ceil(zeros / cutoff)  # filter half-length, in input samples
    offsets = np.arange(-width + 1, width + 1)
    frac = (np.arange(up) * down % up) / up
    tau = offsets[None, :] - frac[:, None]  # input samples between tap and output time
    scaled = np.clip(cutoff * tau, -zeros, zeros)  # time in units of the cutoff period
    window = np.cos(np.pi * scaled / (2 * zeros)) ** 2
    return offsets, cutoff * np.sinc(scaled) * window


def resample(wav, orig_rate, new_rate, zeros=6, rolloff=0.99):
    """Resamples a mono waveform by the rational factor ``new_rate / orig_rate``.

    The same windowed-sinc filter as ``torchaudio.functional.resample`` with its defaults
    (``lowpass_filter_width=6``, ``rolloff=0.99``, Hann window; equal to it within 1e-12), with
    zero padding at both ends.

    Arguments
    ---------
    wav : numpy.ndarray
        [samples] waveform (any float or int dtype; computed in float64).
    orig_rate, new_rate : int
        Sample rates in Hz.
    zeros : int
        Zero crossings of the sinc on each side (filter half-length, at the lower rate).
    rolloff : float
        Cutoff as a fraction of the lower Nyquist frequency.

    Returns
    -------
    numpy.ndarray
        [ceil(samples * new_rate / orig_rate)] float64 waveform.

    Example
    -------
    >>> wav = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> out = resample(wav, 22050, 48000)
    >>> out.shape, bool(abs(np.abs(out[1000:-1000]).max() - 1) < 0.01)
    ((48000,), True)
    """
    wav = np.asarray(wav, dtype=np.float64)
    gcd = math.gcd(int(orig_rate), int(new_rate))
    up, down = int(new_rate) // gcd, int(orig_rate) // gcd
    if up == down:
        return wav.copy()
    offsets, bank = _filter_bank(up, down, zeros, rolloff)
    taps = len(offsets)
    num_out = math.ceil(len(wav) * up / down)
    num_blocks = -(-num_out // up)  # output blocks of `up` samples (one per phase)
    padded = np.zeros(num_blocks * down + down + 2 * taps)
    padded[-offsets[0] : -offsets[0] + len(wav)] = wav
    windows = sliding_window_view(padded, taps)  # [positions, taps], a view
    base = np.arange(up) * down // up
    out = np.empty((num_blocks, up))
    step = max(1, _CHUNK // up)
    for start in range(0, num_blocks, step):
        q = np.arange(start, min(start + step, num_blocks))
        rows = q[:, None] * down + base[None, :]  # [blocks, up]
        out[q] = np.einsum("qpj,pj->qp", windows[rows], bank)
    return out.reshape(-1)[:num_out]
