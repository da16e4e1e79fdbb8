"""Monotonic alignment search (MAS) and duration <-> alignment conversions, in torch.

Glow-TTS (Kim et al. 2020, sec. 3.2) / Grad-TTS (Popov et al. 2021, sec. 3.3): the hard
monotonic alignment A between text positions i and frames j that maximises
sum_j log N(y_j; mu_{A(j)}, I) is found by dynamic programming,

    Q[i, j] = log_p[i, j] + max(Q[i, j-1], Q[i-1, j-1]),

from Q[0, 0] = log_p[0, 0] to Q[L-1, T-1], then backtracked. Here the recursion runs one
frame at a time, vectorised over the batch and the text axis (no compiled extension), with
the choice of every cell recorded so that backtracking is one vectorised pass too.
"""

import math

import torch


def gaussian_log_likelihood(mu, y):
    """log N(y_j; mu_i, I) for every text position i and frame j.

    Arguments
    ---------
    mu : torch.Tensor
        [batch, channels, length] per-token means.
    y : torch.Tensor
        [batch, channels, frames] targets.

    Returns
    -------
    torch.Tensor
        [batch, length, frames] float32.

    Example
    -------
    >>> mu, y = torch.zeros(1, 2, 1), torch.zeros(1, 2, 3)
    >>> gaussian_log_likelihood(mu, y).shape
    torch.Size([1, 1, 3])
    """
    channels = mu.shape[1]
    with torch.autocast(mu.device.type, enabled=False):  # float32 even under bf16 autocast
        mu, y = mu.float(), y.float()
        y_sq = (y**2).sum(1)[:, None, :]  # [B, 1, T]
        mu_sq = (mu**2).sum(1)[:, :, None]  # [B, L, 1]
        cross = torch.einsum("bcl,bct->blt", mu, y)
        return -0.5 * (y_sq - 2 * cross + mu_sq) - 0.5 * channels * math.log(2 * math.pi)


@torch.no_grad()
def monotonic_alignment_search(log_p, text_lengths, frame_lengths):
    """The most likely monotonic, surjective alignment of text positions to frames.

    Every frame gets exactly one text position, positions never decrease along the frames,
    step by at most one, start at 0 on frame 0 and end at ``L - 1`` on frame ``T - 1``;
    every text position gets at least one frame (needs ``L <= T``).

    Arguments
    ---------
    log_p : torch.Tensor
        [batch, length, frames] log-likelihood of frame j under text position i.
    text_lengths : torch.Tensor
        [batch] long, valid text positions L_b.
    frame_lengths : torch.Tensor
        [batch] long, valid frames T_b (``>= L_b``).

    Returns
    -------
    path : torch.Tensor
        [batch, length, frames] float 0/1, zero outside the valid region.

    Example
    -------
    >>> log_p = torch.tensor([[[0.0, 0.0, -9.0, -9.0], [-9.0, -9.0, 0.0, 0.0]]])
    >>> path = monotonic_alignment_search(log_p, torch.tensor([2]), torch.tensor([4]))
    >>> path[0].tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
    >>> path.sum(-1).tolist()  # the durations
    [[2.0, 2.0]]
    """
    if (text_lengths > frame_lengths).any():
        raise ValueError("monotonic alignment needs at least one frame per text position")
    batch, length, frames = log_p.shape
    device = log_p.device
    log_p = log_p.float()
    neg_inf = torch.tensor(-1e9, device=device)
    q = torch.full((batch, length), -1e9, device=device)
    q[:, 0] = log_p[:, 0, 0]
    from_previous = torch.zeros(batch, length, frames, dtype=torch.bool, device=device)
    for j in range(1, frames):
        shifted = torch.cat([neg_inf.expand(batch, 1), q[:, :-1]], dim=1)  # Q[i-1, j-1]
        take = shifted > q
        from_previous[:, :, j] = take
        q = torch.where(take, shifted, q) + log_p[:, :, j]
    path = torch.zeros(batch, length, frames, device=device)
    index = (text_lengths - 1).clamp(min=0).to(device)
    rows = torch.arange(batch, device=device)
    frame_lengths = frame_lengths.to(device)
    for j in range(frames - 1, -1, -1):
        active = j < frame_lengths
        path[rows, index, j] = active.float()
        # forced diagonal: position i must be reached by frame i
        step = active & (from_previous[rows, index, j] | (index == j)) & (index > 0)
        index = index - step.long()
    return path


def durations_to_path(durations, max_frames=None):
    """Hard alignment [batch, length, frames] from integer durations [batch, length].

    Text position i covers frames ``cumsum[i-1] <= j < cumsum[i]``.

    Arguments
    ---------
    durations : torch.Tensor
        [batch, length] non-negative integer frame counts (0 at padding).
    max_frames : int, optional
        Frames of the output (default: the longest total).

    Returns
    -------
    torch.Tensor
        [batch, length, frames] float 0/1.

    Example
    -------
    >>> durations_to_path(torch.tensor([[1, 2]]))[0].tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
    """
    durations = durations.long()
    ends = durations.cumsum(-1)
    total = int(ends[:, -1].max()) if max_frames is None else int(max_frames)
    frames = torch.arange(total, device=durations.device)[None, None, :]
    starts = ends - durations
    return ((frames >= starts[..., None]) & (frames < ends[..., None])).float()


def expand_to_frames(x, path):
    """Repeat per-token features along their frames: [batch, channels, length] -> frames.

    Arguments
    ---------
    x : torch.Tensor
        [batch, channels, length].
    path : torch.Tensor
        [batch, length, frames] hard (or soft) alignment.

    Returns
    -------
    torch.Tensor
        [batch, channels, frames].

    Example
    -------
    >>> x = torch.tensor([[[1.0, 2.0]]])
    >>> expand_to_frames(x, durations_to_path(torch.tensor([[2, 1]]))).tolist()
    [[[1.0, 1.0, 2.0]]]
    """
    return torch.bmm(x, path.to(x.dtype))
