"""Sample-quality metrics for generative models: IS, mIS, AM score, Frechet distance, NDB and
label accuracy.

All functions take classifier probabilities p(y|x) as [N, C] tensors (rows sum to 1) or
features as [N, D] tensors, compute in float64 on the input's device and return Python
numbers. Zero probabilities follow the convention 0 log 0 = 0; a KL divergence whose second
argument puts zero mass where the first does not is ``inf``.
"""

import torch


def _as_float64(x, name, ndim=2):
    """Return ``x`` as a float64 tensor with ``ndim`` dimensions, or raise a ValueError."""
    x = torch.as_tensor(x)
    if x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    x = x.to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains non-finite values")
    return x


def _check_probs(probs, name="probs"):
    """Return ``probs`` [N, C] as float64 after checking it holds probability rows."""
    probs = _as_float64(probs, name)
    if (probs < 0).any():
        raise ValueError(f"{name} must be non-negative")
    row_sums = probs.sum(dim=1)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-4, rtol=0.0):
        raise ValueError(
            f"the rows of {name} must sum to 1 (got sums in "
            f"[{row_sums.min().item():.6f}, {row_sums.max().item():.6f}])"
        )
    return probs


def _neg_entropy(probs):
    """Return sum_c p_c log p_c per row of ``probs`` [N, C], as [N] (0 log 0 = 0)."""
    return torch.xlogy(probs, probs).sum(dim=1)


def _kl(p, q):
    """Return KL(p || q) for distributions over the last dimension (inf where q lacks mass)."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)


def inception_score(probs, splits=1):
    """Inception score IS = exp(E_x KL(p(y|x) || p(y))), Salimans et al. 2016 (arXiv 1606.03498).

    p(y) is the mean of p(y|x) over the samples of each split; the score is computed per split
    and averaged, as in the reference implementation. It lies in [1, C]: C when the samples are
    confidently and evenly spread over the C classes, 1 when all predict the same
    distribution.

    Arguments
    ---------
    probs : torch.Tensor
        Class probabilities p(y|x) of the generated samples, [N, C]; rows sum to 1.
    splits : int
        Number of (near-)equal consecutive splits of the N samples, 1 <= splits <= N.

    Returns
    -------
    float
        The inception score (mean over splits).

    Example
    -------
    >>> round(inception_score(torch.eye(4)), 4)
    4.0
    """
    probs = _check_probs(probs)
    if not 1 <= splits <= probs.shape[0]:
        raise ValueError(f"splits must be in [1, N={probs.shape[0]}], got {splits}")
    scores = []
    for part in torch.tensor_split(probs, splits, dim=0):
        p_y = part.mean(dim=0, keepdim=True)
        scores.append(torch.exp(_kl(part, p_y).mean()))
    return torch.stack(scores).mean().item()


def modified_inception_score(probs):
    """Modified inception score mIS = exp(E_{x,x'} KL(p(y|x) || p(y|x'))), Gurumurthy et al.
    2017 (DeLiGAN, arXiv 1706.02071).

    The expectation is exact, over all N^2 ordered pairs (x, x') of samples (pairs with
    x = x' included, they add 0). Summed over pairs,
    sum_ij KL_ij = N sum_i sum_c p_ic log p_ic - sum_c (sum_i p_ic)(sum_j log p_jc),
    so the cost is O(N C) with no [N, N, C] tensor. mIS rewards samples that are each
    confident and differ from each other. It is ``inf`` when some sample gives exactly zero
    probability to a class that another sample predicts (e.g. distinct one-hot rows).

    Arguments
    ---------
    probs : torch.Tensor
        Class probabilities p(y|x) of the generated samples, [N, C]; rows sum to 1.

    Returns
    -------
    float
        The modified inception score, >= 1 (or ``inf``).

    Example
    -------
    >>> probs = torch.tensor([[0.9, 0.1], [0.1, 0.9]])
    >>> round(modified_inception_score(probs), 4)
    2.4082
    """
    probs = _check_probs(probs)
    p_mean = probs.mean(dim=0)  # [C]: mean_i p_ic
    mean_log_p = torch.log(probs).mean(dim=0)  # [C]: mean_j log p_jc, may be -inf
    # a class no sample predicts contributes nothing, even where log p_jc = -inf
    cross = torch.where(p_mean > 0, p_mean * mean_log_p, torch.zeros_like(p_mean)).sum()
    mean_kl = _neg_entropy(probs).mean() - cross
    return torch.exp(mean_kl.clamp(min=0.0)).item()


def am_score(probs, train_probs):
    """AM score = KL(p_train(y) || p_gen(y)) + E_x H(p(y|x)), Zhou et al. 2018 (AM-GAN,
    arXiv 1703.02000).

    p_train(y) and p_gen(y) are the mean class distributions of the classifier on training
    and generated samples. Lower is better: 0 when the generated class distribution equals the
    training one and every generated sample is classified with certainty.

    Arguments
    ---------
    probs : torch.Tensor
        Class probabilities p(y|x) of the generated samples, [N, C]; rows sum to 1.
    train_probs : torch.Tensor
        Class probabilities of training samples, [M, C] (the same C); rows sum to 1.

    Returns
    -------
    float
        The AM score, >= 0 (``inf`` if p_gen(y) misses a class that p_train(y) has).

    Example
    -------
    >>> round(am_score(torch.eye(3), torch.eye(3)), 4)
    0.0
    """
    probs = _check_probs(probs)
    train_probs = _check_probs(train_probs, "train_probs")
    if probs.shape[1] != train_probs.shape[1]:
        raise ValueError(
            f"probs and train_probs must have the same number of classes, got "
            f"{probs.shape[1]} and {train_probs.shape[1]}"
        )
    kl = _kl(train_probs.mean(dim=0), probs.mean(dim=0))
    entropy = -_neg_entropy(probs).mean()
    return (kl + entropy).item()


def _sqrtm_psd(matrix):
    """Return the symmetric square root of a symmetric PSD matrix [D, D] (negatives clamped)."""
    eigvals, eigvecs = torch.linalg.eigh(matrix)
    return (eigvecs * eigvals.clamp(min=0.0).sqrt()) @ eigvecs.T


def frechet_distance(feats_a, feats_b):
    """Frechet distance between Gaussians fitted to two feature sets (the FID formula),
    Heusel et al. 2017 (arXiv 1706.08500).

    d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with mu the feature means and
    S the unbiased (N - 1) covariances. Tr (S_a S_b)^(1/2) is computed in float64 as the sum
    of the square roots of the eigenvalues of the symmetric PSD matrix
    S_a^(1/2) S_b S_a^(1/2) (same eigenvalues as S_a S_b); tiny negative eigenvalues from
    round-off are clamped to 0, and so is the result.

    Arguments
    ---------
    feats_a : torch.Tensor
        First feature set, [N_a, D], N_a >= 2.
    feats_b : torch.Tensor
        Second feature set, [N_b, D], N_b >= 2 (the same D).

    Returns
    -------
    float
        The squared Frechet distance, >= 0.

    Example
    -------
    >>> feats = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> round(frechet_distance(feats, feats + 1.0), 4)
    2.0
    """
    feats_a = _as_float64(feats_a, "feats_a")
    feats_b = _as_float64(feats_b, "feats_b")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(
            f"feats_a and feats_b must have the same feature size, got {feats_a.shape[1]} "
            f"and {feats_b.shape[1]}"
        )
    for name, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if feats.shape[0] < 2:
            raise ValueError(
                f"{name} needs at least 2 samples for a covariance, got {feats.shape[0]}"
            )
    mu_a, mu_b = feats_a.mean(dim=0), feats_b.mean(dim=0)
    cov_a, cov_b = torch.cov(feats_a.T), torch.cov(feats_b.T)
    cov_a, cov_b = cov_a.reshape(mu_a.numel(), -1), cov_b.reshape(mu_b.numel(), -1)  # D = 1
    sqrt_a = _sqrtm_psd(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    middle = 0.5 * (middle + middle.T)  # exactly symmetric for eigvalsh
    tr_sqrt = torch.linalg.eigvalsh(middle).clamp(min=0.0).sqrt().sum()
    dist = (mu_a - mu_b).square().sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * tr_sqrt
    return dist.clamp(min=0.0).item()


def kmeans(feats, num_clusters, num_iters=30, seed=0):
    """Deterministic k-means (k-means++ initialisation, Arthur & Vassilvitskii 2007, then
    ``num_iters`` Lloyd iterations).

    A cluster that becomes empty keeps its previous centroid.

    Arguments
    ---------
    feats : torch.Tensor
        Points to cluster, [N, D], N >= num_clusters.
    num_clusters : int
        Number of clusters K.
    num_iters : int
        Number of Lloyd iterations (stops early once the assignment no longer changes).
    seed : int
        Seed of the k-means++ draws (a local ``torch.Generator``; global RNG untouched).

    Returns
    -------
    torch.Tensor
        The centroids, [K, D] float64.

    Example
    -------
    >>> feats = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> kmeans(feats, 2).sort(dim=0).values.squeeze(1)
    tensor([ 0.0500, 10.0500], dtype=torch.float64)
    """
    feats = _as_float64(feats, "feats")
    num_points = feats.shape[0]
    if not 1 <= num_clusters <= num_points:
        raise ValueError(f"num_clusters must be in [1, N={num_points}], got {num_clusters}")
    generator = torch.Generator().manual_seed(seed)  # CPU draws: same result on any device
    first = torch.randint(num_points, (1,), generator=generator).item()
    centroids = [feats[first]]
    min_dist = (feats - feats[first]).square().sum(dim=1)
    for _ in range(1, num_clusters):
        weights = min_dist.clamp(min=0.0).cpu()
        if weights.sum() <= 0:  # fewer distinct points than clusters: any point will do
            weights = torch.ones_like(weights)
        index = torch.multinomial(weights, 1, generator=generator).item()
        centroids.append(feats[index])
        min_dist = torch.minimum(min_dist, (feats - feats[index]).square().sum(dim=1))
    centroids = torch.stack(centroids)
    assign = None
    for _ in range(num_iters):
        new_assign = torch.cdist(feats, centroids).argmin(dim=1)
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        counts = torch.bincount(assign, minlength=num_clusters).to(feats.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assign, feats)
        filled = counts > 0
        centroids = torch.where(filled[:, None], sums / counts.clamp(min=1.0)[:, None], centroids)
    return centroids


def ndb_score(train_feats, gen_feats, num_bins=50, alpha=0.05, seed=0):
    """Number of statistically different bins (NDB), Richardson & Weiss 2018 (arXiv 1805.12462).

    The training features are clustered into K = ``num_bins`` bins by k-means (``kmeans``);
    training and generated samples are assigned to their nearest centroid, and in each bin a
    two-sided two-proportion z-test (pooled proportion) compares the fraction of training and
    of generated samples. NDB counts the bins with p-value < ``alpha``; NDB/K near ``alpha``
    means no detectable mode dropping or invention, NDB/K near 1 means very different
    distributions.

    Arguments
    ---------
    train_feats : torch.Tensor
        Features of training samples, [N_train, D], N_train >= num_bins.
    gen_feats : torch.Tensor
        Features of generated samples, [N_gen, D] (the same D).
    num_bins : int
        Number of k-means bins K.
    alpha : float
        Significance level of each test, in (0, 1).
    seed : int
        Seed of the k-means initialisation.

    Returns
    -------
    dict
        ``ndb`` (int, number of different bins), ``ndb_over_k`` (float, NDB / K) and
        ``bins`` (int, K).

    Example
    -------
    >>> train = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
    >>> ndb_score(train, train, num_bins=2)
    {'ndb': 0, 'ndb_over_k': 0.0, 'bins': 2}
    """
    train_feats = _as_float64(train_feats, "train_feats")
    gen_feats = _as_float64(gen_feats, "gen_feats")
    if train_feats.shape[1] != gen_feats.shape[1]:
        raise ValueError(
            f"train_feats and gen_feats must have the same feature size, got "
            f"{train_feats.shape[1]} and {gen_feats.shape[1]}"
        )
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    centroids = kmeans(train_feats, num_bins, seed=seed)

    def proportions(feats):
        bins = torch.cdist(feats, centroids).argmin(dim=1)
        return torch.bincount(bins, minlength=num_bins).to(feats.dtype) / feats.shape[0]

    n_train, n_gen = train_feats.shape[0], gen_feats.shape[0]
    p_train, p_gen = proportions(train_feats), proportions(gen_feats)
    pooled = (p_train * n_train + p_gen * n_gen) / (n_train + n_gen)
    std_err = torch.sqrt(pooled * (1.0 - pooled) * (1.0 / n_train + 1.0 / n_gen))
    z = (p_gen - p_train).abs() / std_err
    z = torch.where(std_err > 0, z, torch.zeros_like(z))  # a bin holding all or no samples
    p_values = 2.0 * torch.special.ndtr(-z)
    ndb = int((p_values < alpha).sum().item())
    return {"ndb": ndb, "ndb_over_k": ndb / num_bins, "bins": num_bins}


def label_accuracy(pred_labels, target_labels):
    """Fraction of predicted labels equal to the target labels (e.g. the digit or speaker a
    sample was generated for, versus the evaluation classifier's prediction).

    Arguments
    ---------
    pred_labels : torch.Tensor
        Predicted labels, [N] integer.
    target_labels : torch.Tensor
        Target labels, [N] integer.

    Returns
    -------
    float
        Accuracy in [0, 1].

    Example
    -------
    >>> label_accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4]))
    0.75
    """
    pred_labels, target_labels = torch.as_tensor(pred_labels), torch.as_tensor(target_labels)
    if pred_labels.dim() != 1 or pred_labels.shape != target_labels.shape:
        raise ValueError(
            f"pred_labels and target_labels must be 1-D of the same length, got shapes "
            f"{tuple(pred_labels.shape)} and {tuple(target_labels.shape)}"
        )
    if pred_labels.numel() == 0:
        raise ValueError("label_accuracy needs at least one label")
    return (pred_labels == target_labels.to(pred_labels.device)).double().mean().item()
