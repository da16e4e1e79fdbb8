"""Tests of audiodiff.nets.alignment: MAS against brute force, duration <-> path round trips."""

import itertools
import math

import pytest
import torch

from audiodiff.nets.alignment import (
    durations_to_path,
    expand_to_frames,
    gaussian_log_likelihood,
    monotonic_alignment_search,
)


def brute_force_best(log_p):
    """Best score over every monotonic surjective alignment of L tokens to T frames."""
    length, frames = log_p.shape
    best = -math.inf
    # durations d_1..d_L >= 1 summing to T
    for cuts in itertools.combinations(range(1, frames), length - 1):
        bounds = (0, *cuts, frames)
        score = sum(float(log_p[i, bounds[i] : bounds[i + 1]].sum()) for i in range(length))
        best = max(best, score)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_mas_matches_brute_force(seed):
    generator = torch.Generator().manual_seed(seed)
    length, frames = 3 + seed % 2, 7
    log_p = torch.randn(1, length, frames, generator=generator) * 3
    path = monotonic_alignment_search(log_p, torch.tensor([length]), torch.tensor([frames]))[0]
    score = float((path * log_p[0]).sum())
    assert score == pytest.approx(brute_force_best(log_p[0]), abs=1e-4)
    # one token per frame, monotonic, every token at least once, starts at 0, ends at L-1
    assert torch.equal(path.sum(0), torch.ones(frames))
    token = path.argmax(0)
    assert token[0] == 0 and token[-1] == length - 1
    steps = token[1:] - token[:-1]
    assert bool(((steps == 0) | (steps == 1)).all())
    assert bool((path.sum(1) >= 1).all())


def test_mas_batch_with_padding_matches_single():
    generator = torch.Generator().manual_seed(7)
    log_p = torch.randn(2, 4, 9, generator=generator)
    lengths, frames = torch.tensor([4, 2]), torch.tensor([9, 5])
    batched = monotonic_alignment_search(log_p, lengths, frames)
    for b in range(2):
        single = monotonic_alignment_search(
            log_p[b : b + 1, : lengths[b], : frames[b]], lengths[b : b + 1], frames[b : b + 1]
        )[0]
        torch.testing.assert_close(batched[b, : lengths[b], : frames[b]], single)
        assert float(batched[b].sum()) == float(frames[b])  # nothing outside the valid region


def test_mas_refuses_more_tokens_than_frames():
    with pytest.raises(ValueError, match="at least one frame"):
        monotonic_alignment_search(torch.zeros(1, 5, 3), torch.tensor([5]), torch.tensor([3]))


def test_mas_recovers_planted_alignment():
    """Frames drawn around known token means align back to the planted durations."""
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(1, 8, 4, generator=generator) * 3
    durations = torch.tensor([[2, 5, 1, 3]])
    y = expand_to_frames(mu, durations_to_path(durations))
    y = y + 0.1 * torch.randn(y.shape, generator=generator)
    path = monotonic_alignment_search(
        gaussian_log_likelihood(mu, y), torch.tensor([4]), torch.tensor([11])
    )
    assert path.sum(-1).long().tolist() == durations.tolist()


def test_gaussian_log_likelihood_matches_direct_formula():
    generator = torch.Generator().manual_seed(1)
    mu, y = torch.randn(2, 3, 4, generator=generator), torch.randn(2, 3, 5, generator=generator)
    direct = torch.distributions.Normal(mu[..., :, None], 1.0).log_prob(y[..., None, :]).sum(1)
    torch.testing.assert_close(gaussian_log_likelihood(mu, y), direct)


def test_durations_path_round_trip():
    durations = torch.tensor([[3, 1, 2, 0], [1, 1, 0, 0]])
    path = durations_to_path(durations)
    assert path.shape == (2, 4, 6)
    torch.testing.assert_close(path.sum(-1), durations.float())
    assert bool((path.sum(1)[1, 2:] == 0).all())  # frames past the end belong to nobody
