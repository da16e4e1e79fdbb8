"""Energy-based speech activity: frame levels in dBFS, how much of a clip is speech, trimming.

A frame is *active* when its RMS level is within ``threshold_db`` of the clip's loudest frame
and above the absolute floor ``floor_dbfs`` (dB relative to a full-scale square wave: a
full-scale sine is -3 dBFS). This is not a voice-activity detector: steady noise well above the
floor counts as active. It is what reference checks ("silent", "too short") and the leading /
trailing silence trimming of the speaker encoder need, on the waveform, independent of any mel
front-end.
"""

import torch

FRAME_SECONDS = 0.025
HOP_SECONDS = 0.010


def frame_levels_db(wav, sample_rate, frame_seconds=FRAME_SECONDS, hop_seconds=HOP_SECONDS):
    """RMS level of each frame in dBFS.

    Arguments
    ---------
    wav : torch.Tensor
        [samples] waveform.
    sample_rate : int
        Sample rate in Hz.
    frame_seconds, hop_seconds : float
        Frame length and hop.

    Returns
    -------
    torch.Tensor
        [frames] float32 levels (a clip shorter than one frame is one zero-padded frame;
        digital silence is -200 dBFS).

    Example
    -------
    >>> sr = 16000
    >>> tone = torch.sin(2 * torch.pi * 440 * torch.arange(sr) / sr)
    >>> levels = frame_levels_db(tone, sr)
    >>> levels.shape, round(float(levels.mean()), 1)
    (torch.Size([98]), -3.0)
    """
    wav = torch.as_tensor(wav).float().reshape(-1)
    frame = max(1, int(round(frame_seconds * sample_rate)))
    hop = max(1, int(round(hop_seconds * sample_rate)))
    if wav.numel() < frame:
        wav = torch.nn.functional.pad(wav, (0, frame - wav.numel()))
    frames = wav.unfold(0, frame, hop)
    rms = frames.pow(2).mean(dim=1).sqrt()
    return 20.0 * torch.log10(rms.clamp(min=1e-10))


def active_frames(
    wav,
    sample_rate,
    threshold_db=40.0,
    floor_dbfs=-60.0,
    frame_seconds=FRAME_SECONDS,
    hop_seconds=HOP_SECONDS,
):
    """Which frames hold sound: within ``threshold_db`` of the loudest and above the floor.

    Arguments
    ---------
    wav : torch.Tensor
        [samples] waveform.
    sample_rate : int
        Sample rate in Hz.
    threshold_db : float
        Largest distance below the loudest frame.
    floor_dbfs : float
        Absolute floor: quieter frames are never active (a clip entirely below it is silent).
    frame_seconds, hop_seconds : float
        Framing, as in :func:`frame_levels_db`.

    Returns
    -------
    torch.Tensor
        [frames] bool.

    Example
    -------
    >>> sr = 8000
    >>> wav = torch.cat([torch.zeros(sr), 0.5 * torch.randn(sr), torch.zeros(sr)])
    >>> int(active_frames(wav, sr).sum())  # 1 s of noise, 10 ms hop (+2 partly covered frames)
    102
    """
    levels = frame_levels_db(wav, sample_rate, frame_seconds, hop_seconds)
    return (levels >= levels.max() - threshold_db) & (levels > floor_dbfs)


def speech_seconds(wav, sample_rate, threshold_db=40.0, floor_dbfs=-60.0):
    """Seconds of active frames in a clip (0.0 for a silent one).

    Arguments
    ---------
    wav : torch.Tensor
        [samples] waveform.
    sample_rate : int
        Sample rate in Hz.
    threshold_db, floor_dbfs : float
        As in :func:`active_frames`.

    Returns
    -------
    float
        Number of active frames times the hop.

    Example
    -------
    >>> sr = 8000
    >>> wav = torch.cat([torch.zeros(sr), 0.5 * torch.randn(sr // 2)])
    >>> round(speech_seconds(wav, sr), 1), speech_seconds(torch.zeros(sr), sr)
    (0.5, 0.0)
    """
    active = active_frames(wav, sample_rate, threshold_db, floor_dbfs)
    return float(active.sum()) * HOP_SECONDS


def trim_silence(wav, sample_rate, threshold_db=40.0, floor_dbfs=-60.0, margin_seconds=0.05):
    """Cuts leading and trailing inactive audio, keeping ``margin_seconds`` on either side.

    Arguments
    ---------
    wav : torch.Tensor
        [samples] waveform.
    sample_rate : int
        Sample rate in Hz.
    threshold_db, floor_dbfs : float
        As in :func:`active_frames`.
    margin_seconds : float
        Audio kept before the first and after the last active frame.

    Returns
    -------
    torch.Tensor
        [trimmed samples] (a view of ``wav``); a silent clip comes back unchanged.

    Example
    -------
    >>> sr = 8000
    >>> wav = torch.cat([torch.zeros(sr), 0.5 * torch.randn(sr), torch.zeros(sr)])
    >>> trim_silence(wav, sr, margin_seconds=0.0).numel()  # 1 s + frames overlapping it
    8280
    """
    wav = torch.as_tensor(wav).reshape(-1)
    active = active_frames(wav, sample_rate, threshold_db, floor_dbfs)
    index = active.nonzero()
    if index.numel() == 0:
        return wav
    hop = int(round(HOP_SECONDS * sample_rate))
    frame = int(round(FRAME_SECONDS * sample_rate))
    margin = int(round(margin_seconds * sample_rate))
    start = max(0, int(index[0]) * hop - margin)
    end = min(wav.numel(), int(index[-1]) * hop + frame + margin)
    return wav[start:end]
