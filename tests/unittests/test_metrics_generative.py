import math

import pytest
import torch

from audiodiff.metrics import (
    am_score,
    frechet_distance,
    inception_score,
    kmeans,
    label_accuracy,
    modified_inception_score,
    ndb_score,
)


def _one_hot_balanced(num_classes, per_class):
    labels = torch.arange(num_classes).repeat(per_class)
    return torch.nn.functional.one_hot(labels, num_classes).double()


def _smoothed_one_hot(num_classes, per_class, eps):
    probs = _one_hot_balanced(num_classes, per_class)
    return probs * (1 - eps - eps / (num_classes - 1)) + eps / (num_classes - 1)


def _random_probs(n, c, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, c, generator=gen, dtype=torch.float64), dim=1)


def _check(value, expected, tol):
    torch.testing.assert_close(
        torch.tensor(value, dtype=torch.float64),
        torch.tensor(expected, dtype=torch.float64),
        atol=tol,
        rtol=0.0,
    )


# ---------------------------------------------------------------- inception score


@pytest.mark.parametrize("splits", [1, 5])
def test_is_one_hot_balanced_is_num_classes(splits):
    _check(inception_score(_one_hot_balanced(10, 20), splits=splits), 10.0, 1e-4)


def test_is_single_class_and_uniform_are_one():
    single = torch.zeros(50, 7, dtype=torch.float64)
    single[:, 3] = 1.0
    _check(inception_score(single), 1.0, 1e-6)
    _check(inception_score(torch.full((50, 7), 1 / 7)), 1.0, 1e-6)


def test_is_matches_formula_on_random_probs():
    probs = _random_probs(40, 6)
    p_y = probs.mean(0)
    expected = math.exp((probs * (probs.log() - p_y.log())).sum(1).mean().item())
    _check(inception_score(probs), expected, 1e-9)


def test_is_rejects_bad_inputs():
    with pytest.raises(ValueError):
        inception_score(torch.ones(4))  # not [N, C]
    with pytest.raises(ValueError):
        inception_score(torch.ones(4, 3))  # rows do not sum to 1
    with pytest.raises(ValueError):
        inception_score(torch.eye(3), splits=4)


# ---------------------------------------------------------------- modified inception score


def _naive_mis(probs):
    n = probs.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += (probs[i] * (probs[i].log() - probs[j].log())).sum().item()
    return math.exp(total / n**2)


def test_mis_matches_double_loop():
    probs = _random_probs(17, 5, seed=1)
    _check(modified_inception_score(probs), _naive_mis(probs), 1e-9)


def test_mis_smoothed_one_hot_balanced_closed_form():
    # rows put 1 - eps on their class, eps / (C - 1) elsewhere; (C - 1) / C of the pairs
    # differ in class, each with KL = (1 - eps - eps / (C - 1)) log((1 - eps)(C - 1) / eps)
    c, eps = 10, 0.01
    probs = _smoothed_one_hot(c, 30, eps)
    kl_diff = (1 - eps - eps / (c - 1)) * math.log((1 - eps) * (c - 1) / eps)
    _check(modified_inception_score(probs), math.exp((c - 1) / c * kl_diff), 1e-6)


def test_mis_one_hot_balanced_is_infinite_single_class_and_uniform_are_one():
    # distinct one-hot rows are infinitely far apart in KL: the exact mIS is inf, not C
    assert modified_inception_score(_one_hot_balanced(4, 5)) == math.inf
    single = torch.zeros(30, 4, dtype=torch.float64)
    single[:, 1] = 1.0
    _check(modified_inception_score(single), 1.0, 1e-9)
    _check(modified_inception_score(torch.full((30, 4), 0.25)), 1.0, 1e-9)


def test_mis_large_n_runs_fast_and_above_is():
    probs = _random_probs(3000, 10, seed=2)
    mis = modified_inception_score(probs)
    assert math.isfinite(mis)
    # by convexity of KL in its second argument, E_x' KL(p_x || p_x') >= KL(p_x || p(y))
    assert mis >= inception_score(probs) - 1e-9


# ---------------------------------------------------------------- AM score


def test_am_matching_confident_is_zero():
    _check(am_score(_one_hot_balanced(5, 20), _one_hot_balanced(5, 40)), 0.0, 1e-9)


def test_am_uniform_predictions_entropy_term_is_log_c():
    c = 8
    uniform = torch.full((30, c), 1 / c, dtype=torch.float64)
    # train mean is uniform too, so the KL term is 0 and the score is the entropy log C
    _check(am_score(uniform, _one_hot_balanced(c, 10)), math.log(c), 1e-9)


def test_am_kl_term_on_imbalanced_generation():
    train = _one_hot_balanced(2, 50)  # p_train(y) = [0.5, 0.5]
    gen = torch.tensor([[1.0, 0.0]] * 3 + [[0.0, 1.0]])  # p_gen(y) = [0.75, 0.25]
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    _check(am_score(gen, train), expected, 1e-9)
    with pytest.raises(ValueError):
        am_score(gen, torch.eye(3))


# ---------------------------------------------------------------- Frechet distance


def _exact_gaussian(n, mean, var, seed):
    """Samples whose sample mean is exactly ``mean`` and sample covariance exactly diag(var)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, len(mean), generator=gen, dtype=torch.float64)
    z = z - z.mean(0)
    chol = torch.linalg.cholesky(torch.cov(z.T))
    z = torch.linalg.solve_triangular(chol, z.T, upper=False).T  # sample cov = I
    return torch.tensor(mean) + z * torch.tensor(var).sqrt()


def test_fid_identical_is_zero():
    feats = torch.randn(200, 16, generator=torch.Generator().manual_seed(0)) * 3.0
    scale = torch.cov(feats.double().T).trace().item()
    assert abs(frechet_distance(feats, feats)) < 1e-6 * scale


def test_fid_diagonal_gaussians_closed_form_and_symmetric():
    mean_a, var_a = [0.0, 1.0, -2.0, 0.5], [1.0, 4.0, 0.25, 2.0]
    mean_b, var_b = [1.0, 1.0, 0.0, 0.0], [9.0, 1.0, 0.25, 0.5]
    feats_a = _exact_gaussian(500, mean_a, var_a, seed=0)
    feats_b = _exact_gaussian(300, mean_b, var_b, seed=1)
    expected = sum((a - b) ** 2 for a, b in zip(mean_a, mean_b))
    expected += sum((math.sqrt(a) - math.sqrt(b)) ** 2 for a, b in zip(var_a, var_b))
    _check(frechet_distance(feats_a, feats_b), expected, 1e-6)
    _check(frechet_distance(feats_b, feats_a), expected, 1e-6)


def test_fid_general_symmetric_and_float32_input():
    gen = torch.Generator().manual_seed(3)
    feats_a = torch.randn(300, 8, generator=gen) @ torch.randn(8, 8, generator=gen)
    feats_b = torch.randn(250, 8, generator=gen) + 0.5
    d_ab, d_ba = frechet_distance(feats_a, feats_b), frechet_distance(feats_b, feats_a)
    assert d_ab > 1.0
    _check(d_ab, d_ba, 1e-8 * d_ab)


def test_fid_rejects_bad_inputs():
    with pytest.raises(ValueError):
        frechet_distance(torch.randn(1, 3), torch.randn(5, 3))  # N < 2
    with pytest.raises(ValueError):
        frechet_distance(torch.randn(5, 3), torch.randn(5, 4))
    with pytest.raises(ValueError):
        frechet_distance(torch.randn(5), torch.randn(5))


# ---------------------------------------------------------------- NDB


def _mixture(n, seed):
    gen = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])
    which = torch.randint(4, (n,), generator=gen)
    return centers[which] + torch.randn(n, 2, generator=gen)


def test_kmeans_deterministic_and_recovers_clusters():
    feats = _mixture(800, seed=0)
    c1, c2 = kmeans(feats, 4, seed=5), kmeans(feats, 4, seed=5)
    torch.testing.assert_close(c1, c2, atol=0.0, rtol=0.0)
    found = c1[torch.argsort(c1[:, 0] * 10 + c1[:, 1])]
    expected = torch.tensor([[0.0, 0.0], [0.0, 6.0], [6.0, 0.0], [6.0, 6.0]], dtype=torch.float64)
    torch.testing.assert_close(found, expected, atol=0.3, rtol=0.0)


def test_ndb_same_distribution_is_small():
    result = ndb_score(_mixture(2000, seed=0), _mixture(2000, seed=1), num_bins=20, seed=0)
    assert result["bins"] == 20
    assert result["ndb_over_k"] == result["ndb"] / 20
    assert 0.0 <= result["ndb_over_k"] <= 0.2


def test_ndb_collapsed_samples_is_large():
    train = _mixture(2000, seed=0)
    collapsed = 0.3 * torch.randn(2000, 2, generator=torch.Generator().manual_seed(2))
    result = ndb_score(train, collapsed, num_bins=20, seed=0)
    assert 0.5 <= result["ndb_over_k"] <= 1.0


def test_ndb_rejects_bad_inputs():
    with pytest.raises(ValueError):
        ndb_score(torch.randn(10, 2), torch.randn(10, 3), num_bins=2)
    with pytest.raises(ValueError):
        ndb_score(torch.randn(10, 2), torch.randn(10, 2), num_bins=11)


# ---------------------------------------------------------------- label accuracy


def test_label_accuracy_identical_and_shuffled():
    labels = torch.arange(10).repeat(500)
    assert label_accuracy(labels, labels) == 1.0
    shuffled = labels[torch.randperm(5000, generator=torch.Generator().manual_seed(0))]
    _check(label_accuracy(shuffled, labels), 0.1, 0.03)
    with pytest.raises(ValueError):
        label_accuracy(labels, labels[:-1])
